import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hasExcludedContents, isChecksummedByPath, isExcludedFileName, looksLikeTempRelName, parseRelationFileName,
} from '../../../../src/serve/backup/exclusions.ts';

test('files PostgreSQL never sends', () => {
  for (const name of ['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'backup_manifest',
    'postgresql.auto.conf.tmp', 'current_logfiles.tmp', 'pg_internal.init', 'pg_internal.init.123', 'pgsql_tmp', 'pgsql_tmp12.3', '.DS_Store']) {
    assert.equal(isExcludedFileName(name), true, name);
  }
  for (const name of ['postgresql.auto.conf', 'PG_VERSION', 'pg_filenode.map', '16384', 'backup_label.old', 'current_logfiles']) {
    assert.equal(isExcludedFileName(name), false, name);
  }
});

test('directories sent empty', () => {
  for (const name of ['pg_stat_tmp', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']) {
    assert.equal(hasExcludedContents(name), true, name);
  }
  assert.equal(hasExcludedContents('pg_stat'), false);
  assert.equal(hasExcludedContents('pg_wal'), false);
});

test('relation file names: fork and segment, temporary relations excluded', () => {
  assert.deepEqual(parseRelationFileName('16384'), { relNumber: '16384', fork: 'main', segno: 0 });
  assert.deepEqual(parseRelationFileName('16384.2'), { relNumber: '16384', fork: 'main', segno: 2 });
  assert.deepEqual(parseRelationFileName('16384_vm'), { relNumber: '16384', fork: 'vm', segno: 0 });
  assert.deepEqual(parseRelationFileName('16384_fsm.1'), { relNumber: '16384', fork: 'fsm', segno: 1 });
  assert.deepEqual(parseRelationFileName('16384_init'), { relNumber: '16384', fork: 'init', segno: 0 });
  for (const name of ['t3_16384', 'PG_VERSION', 'pg_filenode.map', '16384_foo', '16384.', '16384.0', '016384', '12345678901', '16384_vm.x']) {
    assert.equal(parseRelationFileName(name), null, name);
  }
});

test('temporary relation names as PostgreSQL recognises them', () => {
  for (const name of ['t999_999', 't9999_999.1', 't999_9999_vm', 't99999_99999_vm.1', 't1_2_init']) assert.equal(looksLikeTempRelName(name), true, name);
  for (const name of ['t999', 't_999', '999_999', 't999_999_foo', 'tx_1']) assert.equal(looksLikeTempRelName(name), false, name);
});

test('15/16 verify checksums of files under global/, base/ and tablespaces, except the non-page files', () => {
  assert.equal(isChecksummedByPath('1259', 'base', false), true);
  assert.equal(isChecksummedByPath('1262', 'global', false), true);
  assert.equal(isChecksummedByPath('16385', null, true), true);
  assert.equal(isChecksummedByPath('pg_filenode.map', 'global', false), false);
  assert.equal(isChecksummedByPath('PG_VERSION', 'base', false), false);
  assert.equal(isChecksummedByPath('0000', 'pg_xact', false), false);
  assert.equal(isChecksummedByPath('postgresql.conf', null, false), false);
});
