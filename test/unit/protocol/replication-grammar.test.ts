import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReplicationCommand, type GenericOption, type OptionValue } from '../../../src/protocol/replication-grammar.ts';
import {
  baseBackupCommand, createPhysicalSlotCommand, dropReplicationSlotCommand, identifySystemCommand, showCommand,
  startReplicationCommand, timelineHistoryCommand, type BaseBackupCommandOptions,
} from '../../../src/protocol/replication-command.ts';
import { decideBaseBackup } from '../../../src/serve/backup/options.ts';

const str = (text: string): OptionValue => ({ kind: 'string', text });
const ident = (text: string): OptionValue => ({ kind: 'identifier', text });
const num = (text: string): OptionValue => ({ kind: 'number', text });
const opts = (...pairs: Array<[string, OptionValue | null]>): GenericOption[] => pairs.map(([name, value]) => ({ name, value }));

function options(sql: string, syntax: 'parenthesized' | 'keywords' = 'parenthesized'): readonly GenericOption[] {
  const command = parseReplicationCommand(sql);
  assert.equal(command.type, 'BASE_BACKUP', sql);
  assert.equal(command.type === 'BASE_BACKUP' ? command.syntax : null, syntax, sql);
  return command.type === 'BASE_BACKUP' ? command.options : [];
}

function rejects(sql: string, sqlstate = '42601'): void {
  assert.throws(() => parseReplicationCommand(sql), (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, 'COMMAND_SYNTAX_ERROR', sql);
    assert.deepEqual((error as { details?: unknown }).details, { sqlstate }, sql);
    return true;
  });
}

test('parenthesized BASE_BACKUP: what pg_basebackup 15 sends, double spaces and all', () => {
  assert.deepEqual(
    options("BASE_BACKUP ( LABEL 'my label',  PROGRESS,  CHECKPOINT 'fast',  WAIT 0,  MAX_RATE 10240,  TABLESPACE_MAP,  MANIFEST 'yes',  TARGET 'client')"),
    opts(['label', str('my label')], ['progress', null], ['checkpoint', str('fast')], ['wait', num('0')], ['max_rate', num('10240')],
      ['tablespace_map', null], ['manifest', str('yes')], ['target', str('client')]),
  );
});

test('generic_option values: string, number, identifier word, or none', () => {
  assert.deepEqual(options('BASE_BACKUP (WAL true, CHECKPOINT FAST, PROGRESS, MANIFEST "Force-Encode", X 7)'),
    opts(['wal', ident('true')], ['checkpoint', ident('fast')], ['progress', null], ['manifest', ident('Force-Encode')], ['x', num('7')]));
  // keywords may be option names (their lower-case spelling) but never values
  assert.deepEqual(options('BASE_BACKUP (WAIT, TIMELINE 1, slot)'), opts(['wait', null], ['timeline', num('1')], ['slot', null]));
  rejects('BASE_BACKUP (WAL WAIT)');
  rejects('BASE_BACKUP (LABEL 0/1)');
});

test('numbers hold what PostgreSQL\'s int Integer node holds', () => {
  assert.deepEqual(options('BASE_BACKUP (MAX_RATE 007)'), opts(['max_rate', num('7')]));
  assert.deepEqual(options('BASE_BACKUP (MAX_RATE 4294967328)'), opts(['max_rate', num('32')])); // uint32 wrap
  assert.deepEqual(options('BASE_BACKUP (MAX_RATE 4294967295)'), opts(['max_rate', num('-1')])); // then int
  assert.deepEqual(options('BASE_BACKUP (MAX_RATE 99999999999999999999999)'), opts(['max_rate', num('-1')])); // strtoul saturates
});

test('case: keywords are upper case only; unquoted names fold, quoted names keep their case', () => {
  assert.deepEqual(options('BASE_BACKUP (Label \'x\', "LABEL" \'y\', lAbEl \'z\')'),
    opts(['label', str('x')], ['LABEL', str('y')], ['label', str('z')]));
  for (const sql of ['base_backup', 'Base_Backup (LABEL \'x\')', 'identify_system', 'Show wal_segment_size', '"BASE_BACKUP"']) {
    assert.deepEqual(parseReplicationCommand(sql), { type: 'SQL' }, sql);
  }
  // only ASCII letters fold, as downcase_identifier does in a multibyte encoding
  assert.deepEqual(options('BASE_BACKUP (ÉTÉ_X)'), opts(['ÉtÉ_x', null]));
});

test('quoting: strings double \'\' and keep backslashes; "" inside quotes ends one identifier and starts another', () => {
  assert.deepEqual(options("BASE_BACKUP (LABEL 'it''s a \\n ''label''')"), opts(['label', str("it's a \\n 'label'")]));
  assert.deepEqual(options("BASE_BACKUP (LABEL '')"), opts(['label', str('')]));
  assert.deepEqual(options("BASE_BACKUP (LABEL 'two\nlines;(,)')"), opts(['label', str('two\nlines;(,)')]));
  // the replication scanner has no "" escape: "a""b" is the identifier a followed by the identifier b
  assert.deepEqual(options('BASE_BACKUP ("a""b")'), opts(['a', ident('b')]));
  // nor a zero-length check
  assert.deepEqual(options('BASE_BACKUP ("" "")'), opts(['', ident('')]));
  assert.deepEqual(options('BASE_BACKUP ("with space" "Val ue")'), opts(['with space', ident('Val ue')]));
});

test('identifiers are truncated to 63 bytes without splitting a character', () => {
  assert.deepEqual(options(`BASE_BACKUP (${'A'.repeat(70)})`), opts(['a'.repeat(63), null]));
  assert.deepEqual(options(`BASE_BACKUP ("${'x'.repeat(62)}é")`), opts(['x'.repeat(62), null]));
  assert.deepEqual(options(`BASE_BACKUP ("${'x'.repeat(61)}é")`), opts([`${'x'.repeat(61)}é`, null]));
});

test('whitespace of every kind, and one optional trailing semicolon', () => {
  assert.deepEqual(options(" \t\r\n\f\vBASE_BACKUP\n(\n\tLABEL\r\n'x'\f,\vWAL\n)\n;\n "), opts(['label', str('x')], ['wal', null]));
  assert.deepEqual(options('BASE_BACKUP(WAL);'), opts(['wal', null]));
  assert.deepEqual(options('BASE_BACKUP'), []);
  assert.deepEqual(options('BASE_BACKUP ;'), []);
  rejects('BASE_BACKUP;;');
  rejects('BASE_BACKUP (WAL); (PROGRESS)');
});

test('the scanner has no comments', () => {
  rejects('BASE_BACKUP -- comment');
  rejects('BASE_BACKUP /* comment */');
  rejects('IDENTIFY_SYSTEM -- x');
});

test('old keyword syntax (14) becomes the equivalent generic options', () => {
  assert.deepEqual(
    options("BASE_BACKUP LABEL 'x' PROGRESS FAST WAL NOWAIT MAX_RATE 32 TABLESPACE_MAP NOVERIFY_CHECKSUMS MANIFEST 'yes' MANIFEST_CHECKSUMS 'sha256'", 'keywords'),
    opts(['label', str('x')], ['progress', null], ['checkpoint', str('fast')], ['wal', null], ['wait', num('0')], ['max_rate', num('32')],
      ['tablespace_map', null], ['verify_checksums', num('0')], ['manifest', str('yes')], ['manifest_checksums', str('sha256')]),
  );
  // what pg_basebackup 15/18 sends to a 13 server, order free, repeats kept for the server to refuse
  assert.deepEqual(options("BASE_BACKUP  LABEL 'pg_basebackup base backup'  PROGRESS  FAST  NOWAIT  TABLESPACE_MAP  MANIFEST 'yes';", 'keywords'),
    opts(['label', str('pg_basebackup base backup')], ['progress', null], ['checkpoint', str('fast')], ['wait', num('0')],
      ['tablespace_map', null], ['manifest', str('yes')]));
  assert.deepEqual(options('BASE_BACKUP WAL WAL', 'keywords'), opts(['wal', null], ['wal', null]));
});

test('old keyword syntax errors', () => {
  rejects('BASE_BACKUP label \'x\''); // lower case is an identifier, not the keyword
  rejects('BASE_BACKUP "LABEL" \'x\'');
  rejects('BASE_BACKUP LABEL x');
  rejects('BASE_BACKUP LABEL');
  rejects("BASE_BACKUP MAX_RATE '32'");
  rejects('BASE_BACKUP MANIFEST yes');
  rejects('BASE_BACKUP FAST (WAL)');
  rejects('BASE_BACKUP WAIT');
});

test('parenthesized syntax errors', () => {
  for (const sql of [
    'BASE_BACKUP ()', 'BASE_BACKUP (WAL,)', 'BASE_BACKUP (,WAL)', 'BASE_BACKUP (WAL', 'BASE_BACKUP (WAL PROGRESS x)',
    'BASE_BACKUP (LABEL \'a\' \'b\')', "BASE_BACKUP ('label' 'x')", 'BASE_BACKUP (7)', 'BASE_BACKUP (WAL) x', 'BASE_BACKUP (WAL)(WAL)',
    'BASE_BACKUP (WAL) ,', 'BASE_BACKUP (A.B)', 'BASE_BACKUP (WAL = 1)', 'BASE_BACKUP (WAL -1)',
  ]) rejects(sql);
});

test('unterminated quotes', () => {
  rejects("BASE_BACKUP (LABEL 'x)");
  rejects("BASE_BACKUP (LABEL 'x'')");
  rejects('BASE_BACKUP ("LABEL \'x\')');
  rejects("'unterminated"); // even as the first token: PostgreSQL scans it before deciding
  rejects('"unterminated');
});

test('a NUL is refused as PostgreSQL refuses the Query message', () => {
  rejects('BASE_BACKUP\0', '08P01');
  rejects('SELECT 1\0', '08P01');
});

test('every other replication command is recognised by type', () => {
  const vectors: Array<[string, string]> = [
    ['IDENTIFY_SYSTEM', 'IDENTIFY_SYSTEM'],
    ['IDENTIFY_SYSTEM;', 'IDENTIFY_SYSTEM'],
    ['READ_REPLICATION_SLOT "s1"', 'READ_REPLICATION_SLOT'],
    ['SHOW wal_segment_size', 'SHOW'],
    ['SHOW "my"."Custom"', 'SHOW'],
    ['SHOW a.b.c', 'SHOW'],
    ['TIMELINE_HISTORY 2', 'TIMELINE_HISTORY'],
    ['CREATE_REPLICATION_SLOT s PHYSICAL', 'CREATE_REPLICATION_SLOT'],
    ['CREATE_REPLICATION_SLOT "s" TEMPORARY PHYSICAL RESERVE_WAL', 'CREATE_REPLICATION_SLOT'],
    ['CREATE_REPLICATION_SLOT "s" TEMPORARY PHYSICAL (RESERVE_WAL)', 'CREATE_REPLICATION_SLOT'],
    ['CREATE_REPLICATION_SLOT s LOGICAL pgoutput (SNAPSHOT \'nothing\', TWO_PHASE false)', 'CREATE_REPLICATION_SLOT'],
    ['CREATE_REPLICATION_SLOT s LOGICAL test_decoding NOEXPORT_SNAPSHOT TWO_PHASE', 'CREATE_REPLICATION_SLOT'],
    ['DROP_REPLICATION_SLOT s', 'DROP_REPLICATION_SLOT'],
    ['DROP_REPLICATION_SLOT "s" WAIT', 'DROP_REPLICATION_SLOT'],
    ['ALTER_REPLICATION_SLOT s (FAILOVER true, TWO_PHASE)', 'ALTER_REPLICATION_SLOT'],
    ['START_REPLICATION 0/3000000', 'START_REPLICATION'],
    ['START_REPLICATION PHYSICAL 1A/FF000000 TIMELINE 3', 'START_REPLICATION'],
    ['START_REPLICATION SLOT "s" PHYSICAL 0/0 TIMELINE 1;', 'START_REPLICATION'],
    ['START_REPLICATION SLOT s 0/0', 'START_REPLICATION'],
    ['START_REPLICATION SLOT s LOGICAL 0/0', 'START_REPLICATION'],
    ["START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '4', publication_names '\"p\"', binary)", 'START_REPLICATION'],
    ['UPLOAD_MANIFEST', 'UPLOAD_MANIFEST'],
  ];
  for (const [sql, type] of vectors) assert.deepEqual(parseReplicationCommand(sql), { type }, sql);
});

test('errors in the other commands', () => {
  for (const sql of [
    'IDENTIFY_SYSTEM junk', 'IDENTIFY_SYSTEM (x)', 'UPLOAD_MANIFEST x', 'SHOW', 'SHOW a.', 'SHOW .a', 'SHOW WAIT', 'SHOW \'x\'',
    'READ_REPLICATION_SLOT', 'TIMELINE_HISTORY', 'TIMELINE_HISTORY x', 'TIMELINE_HISTORY 0', 'TIMELINE_HISTORY 4294967296',
    'CREATE_REPLICATION_SLOT s', 'CREATE_REPLICATION_SLOT PHYSICAL', 'CREATE_REPLICATION_SLOT s PHYSICAL WAIT',
    'CREATE_REPLICATION_SLOT s PHYSICAL ()', 'CREATE_REPLICATION_SLOT s LOGICAL', 'CREATE_REPLICATION_SLOT s PHYSICAL RESERVE_WAL (x)',
    'DROP_REPLICATION_SLOT', 'DROP_REPLICATION_SLOT s WAIT WAIT', 'ALTER_REPLICATION_SLOT s', 'ALTER_REPLICATION_SLOT s ()',
    'START_REPLICATION', 'START_REPLICATION 0/0 TIMELINE 0', 'START_REPLICATION 0/0 TIMELINE', 'START_REPLICATION LOGICAL 0/0',
    'START_REPLICATION SLOT s LOGICAL 0/0 (a 1)', 'START_REPLICATION SLOT s LOGICAL 0/0 ()', 'START_REPLICATION 0/G',
    'START_REPLICATION SLOT 0/0', 'START_REPLICATION 0/0 0/0',
  ]) rejects(sql);
});

test('SQL fallback: only the first token is scanned', () => {
  for (const sql of [
    'SELECT 1', "select 'unterminated", 'SELECT pg_backup_start(\'x\', true); -- comment', '', '   ', ';', '(BASE_BACKUP)',
    '0/0', '42 BASE_BACKUP', 'TIMELINE 1', 'WAIT', 'BASE_BACKUPX', 'LABEL \'x\'',
  ]) assert.deepEqual(parseReplicationCommand(sql), { type: 'SQL' }, sql);
});

test('round trip: the commands our client renders parse back to what they mean', () => {
  assert.deepEqual(parseReplicationCommand(identifySystemCommand()), { type: 'IDENTIFY_SYSTEM' });
  assert.deepEqual(parseReplicationCommand(showCommand('my.Custom')), { type: 'SHOW' });
  assert.deepEqual(parseReplicationCommand(timelineHistoryCommand(4294967295)), { type: 'TIMELINE_HISTORY' });
  assert.deepEqual(parseReplicationCommand(createPhysicalSlotCommand('Slot 1', { temporary: true, reserveWal: true }, 150000)), { type: 'CREATE_REPLICATION_SLOT' });
  assert.deepEqual(parseReplicationCommand(createPhysicalSlotCommand('s', { temporary: false, reserveWal: true }, 140000)), { type: 'CREATE_REPLICATION_SLOT' });
  assert.deepEqual(parseReplicationCommand(dropReplicationSlotCommand('s', true)), { type: 'DROP_REPLICATION_SLOT' });
  assert.deepEqual(parseReplicationCommand(startReplicationCommand({ slot: 's', startLsn: 0x1_6b37_4800n, timeline: 1 })), { type: 'START_REPLICATION' });
});

const everything: BaseBackupCommandOptions = {
  label: "it's \"mine\" \\ ; (x)", progress: true, fastCheckpoint: true, wal: true, wait: false, maxRateKbps: 1024,
  tablespaceMap: true, verifyChecksums: false, manifest: 'force-encode', manifestChecksums: 'SHA256',
};
const everythingOptions = opts(['label', str("it's \"mine\" \\ ; (x)")], ['progress', null], ['wal', null], ['checkpoint', str('fast')],
  ['wait', num('0')], ['max_rate', num('1024')], ['tablespace_map', null], ['verify_checksums', num('0')], ['manifest', str('force-encode')],
  ['manifest_checksums', str('SHA256')]);

test('round trip: BASE_BACKUP rendered for 15+ and for 14 give the same options', () => {
  for (const version of [150000, 160004, 180000]) {
    assert.deepEqual(options(baseBackupCommand(everything, version)), [...everythingOptions, ...opts(['target', str('client')])]);
    assert.deepEqual(options(baseBackupCommand({ ...everything, compression: { method: 'zstd', detail: 'level=3' } }, version)),
      [...everythingOptions, ...opts(['target', str('client')], ['compression', str('zstd')], ['compression_detail', str('level=3')])]);
  }
  assert.deepEqual(options(baseBackupCommand(everything, 140000), 'keywords'), everythingOptions);
  const plain: BaseBackupCommandOptions = { label: 'l', progress: false, fastCheckpoint: false, wal: false, wait: true, tablespaceMap: false, verifyChecksums: true, manifest: 'no' };
  assert.deepEqual(options(baseBackupCommand(plain, 150000)), opts(['label', str('l')], ['target', str('client')]));
  assert.deepEqual(options(baseBackupCommand(plain, 140000), 'keywords'), opts(['label', str('l')]));
});

test('round trip through serve\'s option interpretation', () => {
  const decision = decideBaseBackup('parenthesized', options(baseBackupCommand(everything, 170000)));
  assert.deepEqual(decision.kind === 'perform' ? decision.request : decision, {
    label: everything.label, progress: true, fastCheckpoint: true, wal: true, waitForArchive: false, maxRateKbps: 1024, tablespaceMap: true,
    verifyChecksums: false, manifest: 'force-encode', manifestChecksums: 'SHA256', compression: null,
  });
});
