import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canTraverse } from '../../../src/cluster/os-user.ts';

test('canTraverse applies owner, group and other search bits along the path', () => {
  const root = mkdtempSync(join(tmpdir(), 'pgconvoy-os-user-'));
  try {
    chmodSync(root, 0o755);
    const inner = join(root, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    const owner = statSync(root);
    const stranger = { uid: owner.uid + 12345, gid: owner.gid + 12345 };
    const sameGroup = { uid: owner.uid + 12345, gid: owner.gid };
    assert.equal(canTraverse(join(inner, 'data'), null), true, 'running as ourselves needs no check');
    assert.equal(canTraverse(join(inner, 'data'), stranger), true);
    chmodSync(join(root, 'a'), 0o750);
    assert.equal(canTraverse(join(inner, 'data'), stranger), false);
    assert.equal(canTraverse(join(inner, 'data'), sameGroup), true);
    chmodSync(join(root, 'a'), 0o700);
    assert.equal(canTraverse(join(inner, 'data'), sameGroup), false);
    assert.equal(canTraverse(join(inner, 'data'), { uid: owner.uid, gid: owner.gid }), true);
    assert.equal(canTraverse(join(root, 'missing', 'x', 'data'), stranger), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
