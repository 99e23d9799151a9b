import assert from 'node:assert/strict';
import { test } from 'node:test';
import { walkArchive, type ArchiveEntry } from '../../../../src/serve/backup/archive-walk.ts';
import { withTempDir } from '../../pipeline/pipeline-helpers.ts';
import { makeFakeDataDir, mainLayout, SENT_FILES, tablespaceLayout } from './fake-data-dir.ts';

async function collect(iterable: AsyncIterable<ArchiveEntry>): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

test('the main archive: PostgreSQL\'s exclusions, directories before their contents, sorted', withTempDir(async (root) => {
  const { dataDir, tablespaceTarget } = makeFakeDataDir(root);
  const entries = await collect(walkArchive(mainLayout(dataDir)));
  const files = entries.filter((entry) => entry.kind === 'file');
  assert.deepEqual(files.map((entry) => entry.name).sort(), Object.keys(SENT_FILES).sort());
  for (const file of files) assert.equal(file.stat.size, SENT_FILES[file.name]);
  const names = entries.map((entry) => entry.name);
  for (const dir of ['pg_stat_tmp', 'pg_replslot', 'pg_wal', './pg_wal/archive_status', 'base/pgsql_tmp']) {
    if (dir === 'base/pgsql_tmp') assert.equal(names.includes(dir), false, 'pgsql_tmp directories are skipped entirely');
    else assert.equal(names.includes(dir), true, dir);
  }
  assert.equal(names.includes('./pg_wal/summaries'), false, 'no summaries directory before 17');
  assert.equal(names.some((name) => name.startsWith('pg_stat_tmp/') || name.startsWith('pg_replslot/') || name.startsWith('pg_wal/')), false);
  const link = entries.find((entry) => entry.name === 'pg_tblspc/16400');
  assert.equal(link?.kind, 'symlink');
  assert.equal(link?.linkTarget, tablespaceTarget);
  assert.equal(link?.inTablespaceDir, true);
  const keys = entries.map((entry) => entry.key);
  assert.deepEqual(keys, [...keys].sort(), 'keys come in string order');
  for (const [index, entry] of entries.entries()) {
    for (const ancestor of entry.ancestors) assert.ok(keys.indexOf(ancestor.key) < index, `${ancestor.name} before ${entry.name}`);
  }
}));

test('checksum eligibility: by path on 15, by relation name on 17; segment numbers', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const on15 = new Map((await collect(walkArchive(mainLayout(dataDir, 15)))).map((entry) => [entry.name, entry.checksumSegno]));
  assert.equal(on15.get('base/1/1259'), 0);
  assert.equal(on15.get('base/1/16500.1'), 1);
  assert.equal(on15.get('global/1262'), 0);
  assert.equal(on15.get('base/1/pg_filenode.map'), null);
  assert.equal(on15.get('pg_xact/0000'), null);
  assert.equal(on15.get('PG_VERSION'), null);
  const on17 = new Map((await collect(walkArchive(mainLayout(dataDir, 17)))).map((entry) => [entry.name, entry]));
  assert.equal(on17.get('base/1/1259_fsm')?.checksumSegno, 0);
  assert.equal(on17.get('base/1/pg_filenode.map')?.checksumSegno, null);
  assert.ok(on17.has('./pg_wal/summaries'), '17 sends pg_wal/summaries');
}));

test('a walk after a key yields exactly the rest, in order', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const all = await collect(walkArchive(mainLayout(dataDir)));
  for (const [index, entry] of all.entries()) {
    const rest = await collect(walkArchive(mainLayout(dataDir), entry.key));
    assert.deepEqual(rest.map((e) => e.key), all.slice(index + 1).map((e) => e.key), `after ${entry.name}`);
  }
}));

test('a tablespace archive holds only this release\'s directory, named relative to the location', withTempDir(async (root) => {
  const { tablespaceTarget } = makeFakeDataDir(root);
  const entries = await collect(walkArchive(tablespaceLayout(tablespaceTarget)));
  assert.deepEqual(entries.map((entry) => `${entry.kind} ${entry.name}`), [
    'directory PG_15_202209061', 'directory PG_15_202209061/5', 'file PG_15_202209061/5/16401',
  ]);
  assert.equal(entries[2]?.checksumSegno, 0);
  assert.equal(entries[2]?.pgPath, `${tablespaceTarget}/PG_15_202209061/5/16401`);
}));
