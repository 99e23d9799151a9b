import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimRepository, readIdentity } from '../../../src/repository/repository.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

const freshStorage = async (): Promise<LocalStorage> => new LocalStorage(await scratchDir('repo'));

const IDENTITY = { systemId: '7349163894263526621', walSegmentBytes: 16 * 1024 * 1024 };

test('first use records the cluster; the same cluster is accepted again, also by racing claims', async () => {
  const storage = await freshStorage();
  assert.equal(await readIdentity(storage), null);
  await Promise.all([claimRepository(storage, IDENTITY), claimRepository(storage, IDENTITY), claimRepository(storage, IDENTITY)]);
  assert.deepEqual(await readIdentity(storage), IDENTITY);
  await claimRepository(storage, IDENTITY);
});

test('another cluster (system identifier or segment size) is REPOSITORY_MISMATCH', async () => {
  const storage = await freshStorage();
  await claimRepository(storage, IDENTITY);
  await assert.rejects(claimRepository(storage, { ...IDENTITY, systemId: '7349163894263526622' }), { code: 'REPOSITORY_MISMATCH' });
  await assert.rejects(claimRepository(storage, { ...IDENTITY, walSegmentBytes: 64 * 1024 * 1024 }), { code: 'REPOSITORY_MISMATCH' });
});

test('an unreadable record is REPOSITORY_INVALID', async () => {
  for (const text of ['{', '{"version":2,"systemId":"1","walSegmentBytes":16777216}', '{"version":1,"systemId":1,"walSegmentBytes":16777216}',
    '{"version":1,"systemId":"1"}', 'null']) {
    const storage = await freshStorage();
    await writeFile(join(storage.location, 'repository.json'), text);
    await assert.rejects(readIdentity(storage), { code: 'REPOSITORY_INVALID' }, text);
    await assert.rejects(claimRepository(storage, IDENTITY), { code: 'REPOSITORY_INVALID' }, text);
  }
});
