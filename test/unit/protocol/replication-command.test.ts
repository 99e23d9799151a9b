import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  baseBackupCommand, createPhysicalSlotCommand, dropReplicationSlotCommand, identifySystemCommand, quoteIdentifier,
  quoteLiteral, showCommand, startReplicationCommand, timelineHistoryCommand, type BaseBackupCommandOptions,
} from '../../../src/protocol/replication-command.ts';

const base: BaseBackupCommandOptions = {
  label: 'pg_basebackup base backup', progress: false, fastCheckpoint: false, wal: false, wait: true,
  tablespaceMap: false, verifyChecksums: true, manifest: 'no',
};

test('quoting: identifiers double-quoted, strings single-quoted, quotes doubled', () => {
  assert.equal(quoteIdentifier('My "slot"'), '"My ""slot"""');
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(quoteLiteral('back\\slash'), "'back\\slash'");
  assert.throws(() => quoteLiteral('a\0b'), { code: 'OPTION_INVALID' });
});

test('simple commands', () => {
  assert.equal(identifySystemCommand(), 'IDENTIFY_SYSTEM');
  assert.equal(showCommand('wal_segment_size'), 'SHOW "wal_segment_size"');
  assert.equal(showCommand('my.setting'), 'SHOW "my"."setting"');
  assert.throws(() => showCommand('a..b'), { code: 'OPTION_INVALID' });
  assert.equal(timelineHistoryCommand(2), 'TIMELINE_HISTORY 2');
  assert.throws(() => timelineHistoryCommand(0), { code: 'OPTION_OUT_OF_RANGE' });
  assert.equal(dropReplicationSlotCommand('s1'), 'DROP_REPLICATION_SLOT "s1"');
  assert.equal(dropReplicationSlotCommand('s1', true), 'DROP_REPLICATION_SLOT "s1" WAIT');
});

test('CREATE_REPLICATION_SLOT in the old and the 15+ form', () => {
  const options = { temporary: true, reserveWal: true };
  assert.equal(createPhysicalSlotCommand('pg_basebackup_848', options, 150018), 'CREATE_REPLICATION_SLOT "pg_basebackup_848" TEMPORARY PHYSICAL (RESERVE_WAL)');
  assert.equal(createPhysicalSlotCommand('pg_basebackup_848', options, 140023), 'CREATE_REPLICATION_SLOT "pg_basebackup_848" TEMPORARY PHYSICAL RESERVE_WAL');
  assert.equal(createPhysicalSlotCommand('keep', { temporary: false, reserveWal: false }, 180006), 'CREATE_REPLICATION_SLOT "keep" PHYSICAL');
});

test('START_REPLICATION with and without a slot', () => {
  assert.equal(startReplicationCommand({ slot: 'pg_basebackup_848', startLsn: 0x8000000n, timeline: 1 }),
    'START_REPLICATION SLOT "pg_basebackup_848" PHYSICAL 0/8000000 TIMELINE 1');
  assert.equal(startReplicationCommand({ startLsn: 0x1_0200_0000n, timeline: 3 }), 'START_REPLICATION PHYSICAL 1/2000000 TIMELINE 3');
});

test('BASE_BACKUP 15+: pg_basebackup option order, always TARGET client', () => {
  assert.equal(baseBackupCommand({ ...base, label: 'my label', progress: true, fastCheckpoint: true, wait: false, manifest: 'yes' }, 150020),
    "BASE_BACKUP (LABEL 'my label', PROGRESS, CHECKPOINT 'fast', WAIT 0, MANIFEST 'yes', TARGET 'client')");
  assert.equal(baseBackupCommand({
    ...base, progress: true, wal: true, fastCheckpoint: true, wait: false, maxRateKbps: 10240, tablespaceMap: true,
    manifest: 'yes', manifestChecksums: 'SHA512',
  }, 150020), "BASE_BACKUP (LABEL 'pg_basebackup base backup', PROGRESS, WAL, CHECKPOINT 'fast', WAIT 0, MAX_RATE 10240, TABLESPACE_MAP, MANIFEST 'yes', MANIFEST_CHECKSUMS 'SHA512', TARGET 'client')");
  assert.equal(baseBackupCommand({
    ...base, fastCheckpoint: true, wait: false, tablespaceMap: true, verifyChecksums: false, manifest: 'yes',
    compression: { method: 'lz4', detail: 'level=3' },
  }, 180006), "BASE_BACKUP (LABEL 'pg_basebackup base backup', CHECKPOINT 'fast', WAIT 0, TABLESPACE_MAP, VERIFY_CHECKSUMS 0, MANIFEST 'yes', TARGET 'client', COMPRESSION 'lz4', COMPRESSION_DETAIL 'level=3')");
  assert.equal(baseBackupCommand({ ...base, label: "o'brien", manifest: 'force-encode', compression: { method: 'gzip' } }, 150000),
    "BASE_BACKUP (LABEL 'o''brien', MANIFEST 'force-encode', TARGET 'client', COMPRESSION 'gzip')");
});

test('BASE_BACKUP before 15: keyword form', () => {
  assert.equal(baseBackupCommand({ ...base, progress: true, fastCheckpoint: true, wait: false, tablespaceMap: true, manifest: 'yes' }, 130016),
    "BASE_BACKUP LABEL 'pg_basebackup base backup' PROGRESS FAST NOWAIT TABLESPACE_MAP MANIFEST 'yes'");
  assert.equal(baseBackupCommand({
    ...base, label: 't13', progress: true, wal: true, fastCheckpoint: true, wait: false, maxRateKbps: 32, tablespaceMap: true,
    verifyChecksums: false, manifest: 'yes', manifestChecksums: 'SHA256',
  }, 140023), "BASE_BACKUP LABEL 't13' PROGRESS WAL FAST NOWAIT MAX_RATE 32 TABLESPACE_MAP NOVERIFY_CHECKSUMS MANIFEST 'yes' MANIFEST_CHECKSUMS 'SHA256'");
  assert.equal(baseBackupCommand({ ...base, manifest: 'yes' }, 120010), "BASE_BACKUP LABEL 'pg_basebackup base backup'", 'no manifests before 13');
});

test('BASE_BACKUP refuses what the server cannot do', () => {
  assert.throws(() => baseBackupCommand({ ...base, compression: { method: 'gzip' } }, 140023), {
    code: 'OPTION_CONFLICT', message: 'server does not support server-side compression',
  });
  assert.throws(() => baseBackupCommand({ ...base, manifestChecksums: 'SHA256' }, 150020), { code: 'OPTION_CONFLICT' });
  for (const rate of [31, 1048577, 100.5]) {
    assert.throws(() => baseBackupCommand({ ...base, maxRateKbps: rate }, 150020), { code: 'OPTION_OUT_OF_RANGE' }, String(rate));
  }
  assert.equal(baseBackupCommand({ ...base, maxRateKbps: 0 }, 150020), "BASE_BACKUP (LABEL 'pg_basebackup base backup', TARGET 'client')");
});
