/**
 * restoreBackup on small hand-built backups, without verification (verify has its own tests, and the
 * integration tests verify real backups): layout, modes, tablespace placement, recovery files, refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvoyError } from '../../../src/errors/index.ts';
import { restoreBackup } from '../../../src/restore/index.ts';
import { SEGMENT, scratch, writePlainBackup, writeTarBackup } from './fixtures.ts';

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof ConvoyError, String(error));
    return error.code;
  }
  return 'no error';
}

test('plain: copies the tree with data directory modes, relocates the tablespace, leaves backup_manifest behind', async () => {
  const root = scratch('plain');
  try {
    writePlainBackup(join(root, 'backup'), join(root, 'ts-copy'));
    const result = await restoreBackup(join(root, 'backup'), {
      targetDir: join(root, 'new'), tablespaceMapping: new Map([[join(root, 'ts-copy'), join(root, 'ts-new')]]), verify: false, sync: false,
    });
    assert.equal(result.format, 'plain');
    assert.equal(result.major, 15);
    assert.equal(result.label?.startLsn, 0x2000028n);
    assert.equal(result.files, 7);
    assert.equal(statSync(join(root, 'new')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'new/base/5/1259')).mode & 0o777, 0o600, 'files get the data directory file mode');
    assert.equal(readFileSync(join(root, 'new/base/5/1259')).length, 3 * 8192);
    assert.equal(existsSync(join(root, 'new/backup_manifest')), false);
    assert.equal(readlinkSync(join(root, 'new/pg_tblspc/16384')), join(root, 'ts-new'));
    assert.equal(readFileSync(join(root, 'ts-new/PG_15_202209061/5/16385'), 'utf8'), 'heap');
    assert.deepEqual(result.tablespaces, [{ oid: '16384', from: join(root, 'ts-copy'), to: join(root, 'ts-new') }]);
    assert.deepEqual(result.settings, {});
    assert.ok(result.warnings.some((warning) => /not verified/.test(warning)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tar: archives extracted through the destination, links from tablespace_map, the map removed', async () => {
  const root = scratch('tar');
  try {
    writeTarBackup(join(root, 'backup'), '/srv/old/ts');
    const result = await restoreBackup(join(root, 'backup'), {
      targetDir: join(root, 'new'), tablespaceTarget: (oid) => join(root, 'spaces', oid), verify: false, sync: false,
    });
    assert.equal(result.format, 'tar');
    assert.equal(result.files, null);
    assert.equal(readFileSync(join(root, 'new/global/pg_control'), 'utf8'), 'control');
    assert.equal(readFileSync(join(root, 'new/pg_wal', SEGMENT), 'utf8'), 'wal bytes');
    assert.ok(existsSync(join(root, 'new/pg_wal/archive_status', `${SEGMENT}.done`)));
    assert.equal(readFileSync(join(root, 'spaces/16384/PG_15_202209061/5/16385'), 'utf8'), 'heap');
    assert.ok(lstatSync(join(root, 'new/pg_tblspc/16384')).isSymbolicLink());
    assert.equal(readlinkSync(join(root, 'new/pg_tblspc/16384')), join(root, 'spaces/16384'));
    assert.equal(existsSync(join(root, 'new/tablespace_map')), false);
    assert.deepEqual(result.tablespaces, [{ oid: '16384', from: '/srv/old/ts', to: join(root, 'spaces/16384') }]);
    assert.ok(result.warnings.some((warning) => /carries standby\.signal/.test(warning)), 'a -R backup is noticed');
    assert.ok(existsSync(join(root, 'new/standby.signal')), 'kept when no recovery was asked for');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tar with group access (0640 members): 0750 directories and 0640 files', async () => {
  const root = scratch('group');
  try {
    writeTarBackup(join(root, 'backup'), '/srv/old/ts', 0o640);
    const result = await restoreBackup(join(root, 'backup'), {
      targetDir: join(root, 'new'), tablespaceTarget: (oid) => join(root, 'spaces', oid), verify: false, sync: false,
    });
    assert.equal(result.dirMode, 0o750);
    assert.equal(statSync(join(root, 'new')).mode & 0o777, 0o750);
    assert.equal(statSync(join(root, 'new/PG_VERSION')).mode & 0o777, 0o640);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('recovery: carried signal files replaced, settings appended to postgresql.auto.conf, WAL staged for a target', async () => {
  const root = scratch('recovery');
  try {
    writeTarBackup(join(root, 'backup'), '/srv/old/ts');
    const result = await restoreBackup(join(root, 'backup'), {
      targetDir: join(root, 'new'), tablespaceTarget: (oid) => join(root, 'spaces', oid), verify: false, sync: false,
      recovery: { target: { kind: 'lsn', value: '0/2000100' } }, settings: { archive_mode: 'off' },
    });
    assert.deepEqual(result.removedSignalFiles, ['standby.signal']);
    assert.equal(result.signalFile, 'recovery.signal');
    assert.ok(existsSync(join(root, 'new/recovery.signal')));
    assert.equal(existsSync(join(root, 'new/standby.signal')), false);
    assert.equal(readFileSync(join(root, 'new/postgresql.auto.conf'), 'utf8'), [
      '# Do not edit this file manually!', "work_mem = '8MB'", '# written by pgconvoy restore',
      `restore_command = 'cp "pg_wal_restore/%f" "%p"'`, "recovery_target_lsn = '0/2000100'", "recovery_target_action = 'promote'",
      "archive_mode = 'off'", '',
    ].join('\n'));
    assert.deepEqual(result.stagedWal, { dir: join(root, 'new/pg_wal_restore'), files: 1 });
    assert.deepEqual(readdirSync(join(root, 'new/pg_wal_restore')), [SEGMENT]);
    assert.deepEqual(readdirSync(join(root, 'new/pg_wal/archive_status')), [], 'the .done marker of the moved segment is gone');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('refusals: non-empty target, tablespace onto the backup\'s own copy, overlap, incremental; nothing left behind', async () => {
  const root = scratch('refuse');
  try {
    writePlainBackup(join(root, 'backup'), join(root, 'ts-copy'));
    mkdirSync(join(root, 'busy'));
    writeFileSync(join(root, 'busy/file'), 'x');
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'busy'), verify: false })), 'TARGET_NOT_EMPTY');
    assert.deepEqual(readdirSync(join(root, 'busy')), ['file']);
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'fresh'), verify: false })), 'TARGET_NOT_EMPTY');
    assert.equal(existsSync(join(root, 'fresh')), false, 'the data directory created before the refusal is removed');
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'backup/inside'), verify: false })), 'OPTION_INVALID');
    assert.equal(await codeOf(() => restoreBackup(join(root, 'nothing'), { targetDir: join(root, 'x'), verify: false })), 'FS_ERROR');
    writeFileSync(join(root, 'backup/backup_label'), `${readFileSync(join(root, 'backup/backup_label'), 'utf8')}INCREMENTAL FROM LSN: 0/1000028\n`);
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'x'), verify: false })), 'OPTION_INVALID');
    const mapping = new Map([[join(root, 'ts-copy'), join(root, 'a')], ['/elsewhere', join(root, 'b')]]);
    rmSync(join(root, 'backup/backup_label'));
    const result = await restoreBackup(join(root, 'backup'), { targetDir: join(root, 'x'), tablespaceMapping: mapping, verify: false, sync: false });
    assert.ok(result.warnings.some((warning) => /"\/elsewhere" matches no tablespace/.test(warning)));
    assert.ok(result.warnings.some((warning) => /no backup_label/.test(warning)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('verification on by default: a backup without backup_manifest is refused as incomplete', async () => {
  const root = scratch('manifest');
  try {
    writePlainBackup(join(root, 'backup'), join(root, 'ts-copy'));
    rmSync(join(root, 'backup/backup_manifest'));
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'new') })), 'BACKUP_INCOMPLETE');
    assert.equal(existsSync(join(root, 'new')), false);
    writeFileSync(join(root, 'backup/backup_manifest'), '{"PostgreSQL-Backup-Manifest-Version": 1}\n');
    assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'new') })), 'BACKUP_INCOMPLETE');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an invalid recovery target is refused before the target directory exists', async () => {
  const root = scratch('bad-target');
  try {
    writePlainBackup(join(root, 'backup'), join(root, 'ts-copy'));
    for (const target of [{ kind: 'time', value: 'not a time' }, { kind: 'name', value: 'n'.repeat(64) }, { kind: 'lsn', value: '0/xyz' }] as const) {
      assert.equal(await codeOf(() => restoreBackup(join(root, 'backup'), { targetDir: join(root, 'new'), recovery: { target }, verify: false })), 'OPTION_INVALID');
      assert.equal(existsSync(join(root, 'new')), false, target.kind);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
