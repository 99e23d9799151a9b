/**
 * Claiming a target directory: two runs given the same new (or the same empty) directory at once cannot both have
 * it, the loser is refused without touching it, a regular file is "Not a directory", and a released claim leaves
 * no trace.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLAIM_FILE_NAME, claimDirectory, releaseClaim } from '../../../../src/pipeline/destination/claim.ts';
import { withTempDir } from '../pipeline-helpers.ts';

async function claimTwiceAtOnce(path: string): Promise<Array<PromiseSettledResult<unknown>>> {
  return Promise.allSettled([claimDirectory(path, 0o700), claimDirectory(path, 0o700)]);
}

test('the same new directory claimed twice at once: one run has it, the other is refused', withTempDir(async (root) => {
  for (let trial = 0; trial < 20; trial += 1) {
    const path = join(root, `new-${trial}`, 'data');
    const outcomes = await claimTwiceAtOnce(path);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    assert.equal(won.length, 1, `trial ${trial}`);
    assert.equal((lost[0]?.reason as { code?: string }).code, 'TARGET_NOT_EMPTY');
    assert.deepEqual(readdirSync(path), [CLAIM_FILE_NAME], 'the loser touched nothing');
  }
}));

test('the same empty directory claimed twice at once: one run has it; it is not marked as created', withTempDir(async (root) => {
  const path = join(root, 'empty');
  mkdirSync(path);
  const outcomes = await claimTwiceAtOnce(path);
  const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  assert.deepEqual(won, [{ path, wasCreated: false }]);
  await releaseClaim(path);
  assert.deepEqual(readdirSync(path), []);
}));

test('a regular file is TARGET_NOT_DIRECTORY, a non-empty directory TARGET_NOT_EMPTY; neither is changed', withTempDir(async (root) => {
  const file = join(root, 'file');
  writeFileSync(file, 'x');
  await assert.rejects(claimDirectory(file, 0o700), { code: 'TARGET_NOT_DIRECTORY', message: `could not access directory "${file}": Not a directory` });
  await assert.rejects(claimDirectory(join(file, 'below'), 0o700), { code: 'TARGET_NOT_DIRECTORY' });
  const full = join(root, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'keep'), 'x');
  await assert.rejects(claimDirectory(full, 0o700), { code: 'TARGET_NOT_EMPTY' });
  assert.deepEqual(readdirSync(full), ['keep']);
  assert.equal(existsSync(join(full, CLAIM_FILE_NAME)), false);
}));
