import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConvoyError } from '../../../src/errors/index.ts';
import { extractTarBackup, listTarArchives, readBaseHead } from '../../../src/restore/tar-restore.ts';
import { LABEL, scratch, tarOf } from './fixtures.ts';

test('listTarArchives: base first, tablespaces by OID, pg_wal last; other files ignored; two of one kind refused', () => {
  const root = scratch('list');
  try {
    for (const name of ['pg_wal.tar', '16400.tar.zst', '9999.tar', 'base.tar.gz', 'backup_manifest', 'notes.txt', 'base.tgz']) writeFileSync(join(root, name), '');
    assert.deepEqual(listTarArchives(root).map((archive) => [archive.name, archive.kind, archive.oid]), [
      ['base.tar.gz', 'base', null], ['9999.tar', 'tablespace', '9999'], ['16400.tar.zst', 'tablespace', '16400'], ['pg_wal.tar', 'wal', null],
    ]);
    writeFileSync(join(root, 'base.tar'), '');
    assert.throws(() => listTarArchives(root), (error) => error instanceof ConvoyError && error.code === 'BACKUP_INCOMPLETE');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('readBaseHead: backup_label and tablespace_map from the head of base.tar, compressed or not, stopping early', async () => {
  const root = scratch('head');
  try {
    const members: Array<[string, string | null]> = [['backup_label', LABEL], ['tablespace_map', '16384 /a b\n'], ['PG_VERSION', '15\n']];
    writeFileSync(join(root, 'base.tar'), tarOf(members, 0o640));
    writeFileSync(join(root, 'base.tar.gz'), gzipSync(tarOf(members)));
    // A large archive after the head must not be read to its end: a truncated tail proves it.
    const long = tarOf([...members, ['big', 'x'.repeat(4 << 20)]]);
    writeFileSync(join(root, 'truncated.tar'), long.subarray(0, long.length - 100_000));
    for (const [name, mode] of [['base.tar', 0o640], ['base.tar.gz', 0o600], ['truncated.tar', 0o600]] as const) {
      const head = await readBaseHead({ name, path: join(root, name), kind: 'base', oid: null });
      assert.equal(head.backupLabel, LABEL, name);
      assert.equal(head.tablespaceMap, '16384 /a b\n', name);
      assert.equal(head.fileMode, mode, name);
    }
    writeFileSync(join(root, 'bare.tar'), tarOf([['PG_VERSION', '15\n']]));
    assert.deepEqual(await readBaseHead({ name: 'bare.tar', path: join(root, 'bare.tar'), kind: 'base', oid: null }), { backupLabel: null, tablespaceMap: null, fileMode: 0o600 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('extractTarBackup: a tablespace archive without a tablespace_map entry is refused; a damaged archive cleans up', async () => {
  const root = scratch('extract');
  try {
    mkdirSync(join(root, 'backup'));
    writeFileSync(join(root, 'backup/base.tar'), tarOf([['backup_label', LABEL], ['PG_VERSION', '15\n']]));
    writeFileSync(join(root, 'backup/16384.tar'), tarOf([['PG_15_1', null]]));
    const job = { targetDir: join(root, 'new'), archives: listTarArchives(join(root, 'backup')), placements: [], dirMode: 0o700 as const, startLsn: 0n, startTli: 1 };
    await assert.rejects(extractTarBackup(job), (error) => error instanceof ConvoyError && error.code === 'BACKUP_INCOMPLETE');
    rmSync(join(root, 'backup/16384.tar'));
    const good = tarOf([['backup_label', LABEL], ['PG_VERSION', '15\n']]);
    writeFileSync(join(root, 'backup/base.tar'), good.subarray(0, 700));
    mkdirSync(join(root, 'new'));
    await assert.rejects(extractTarBackup({ ...job, archives: listTarArchives(join(root, 'backup')) }), (error) => error instanceof ConvoyError && error.code === 'TAR_TRUNCATED');
    assert.deepEqual((await import('node:fs')).readdirSync(join(root, 'new')), [], 'what was extracted is removed again');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
