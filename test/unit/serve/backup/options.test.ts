import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideBaseBackup } from '../../../../src/serve/backup/options.ts';

type Value = { kind: 'string' | 'identifier' | 'number'; text: string } | null;
const str = (text: string): Value => ({ kind: 'string', text });
const num = (text: string): Value => ({ kind: 'number', text });
const opts = (...pairs: Array<[string, Value]>) => pairs.map(([name, value]) => ({ name, value }));

test('what pg_basebackup 15 sends is performed, with its meaning', () => {
  // BASE_BACKUP ( LABEL 'x',  PROGRESS,  WAL,  CHECKPOINT 'fast',  WAIT 0,  MAX_RATE 10240,  TABLESPACE_MAP,  MANIFEST 'yes',  MANIFEST_CHECKSUMS 'SHA512',  TARGET 'client')
  const decision = decideBaseBackup('parenthesized', opts(['label', str('x')], ['progress', null], ['wal', null], ['checkpoint', str('fast')],
    ['wait', num('0')], ['max_rate', num('10240')], ['tablespace_map', null], ['manifest', str('yes')], ['manifest_checksums', str('SHA512')], ['target', str('client')]));
  assert.equal(decision.kind, 'perform');
  assert.deepEqual(decision.kind === 'perform' ? decision.request : null, {
    label: 'x', progress: true, fastCheckpoint: true, wal: true, waitForArchive: false, maxRateKbps: 10240, tablespaceMap: true,
    verifyChecksums: true, manifest: 'yes', manifestChecksums: 'SHA512', compression: null,
  });
});

test('defaults are PostgreSQL\'s', () => {
  const decision = decideBaseBackup('parenthesized', []);
  assert.deepEqual(decision.kind === 'perform' ? decision.request : null, {
    label: 'base backup', progress: false, fastCheckpoint: false, wal: false, waitForArchive: true, maxRateKbps: null, tablespaceMap: false,
    verifyChecksums: true, manifest: 'no', manifestChecksums: 'CRC32C', compression: null,
  });
});

test('server-side compression with a detail', () => {
  const decision = decideBaseBackup('parenthesized', opts(['compression', str('zstd')], ['compression_detail', str('level=5,workers=2')]));
  assert.equal(decision.kind === 'perform' ? decision.request.compression?.method : null, 'zstd');
  assert.equal(decision.kind === 'perform' ? decision.request.compression?.level : null, 5);
});

test('bad options are refused with PostgreSQL\'s words and SQLSTATE', () => {
  const cases: Array<[ReturnType<typeof opts>, string, RegExp]> = [
    [opts(['progress', null], ['progress', null]), '42601', /^duplicate option "progress"$/],
    [opts(['checkpoint', str('slow')]), '22023', /^unrecognized checkpoint type: "slow"$/],
    [opts(['max_rate', num('5')]), '22003', /^5 is outside the valid range for parameter "MAX_RATE" \(32 \.\. 1048576\)$/],
    [opts(['wal', str('yes')]), '42601', /^wal requires a Boolean value$/],
    [opts(['manifest', str('maybe')]), '22023', /^unrecognized manifest option: "maybe"$/],
    [opts(['manifest_checksums', str('MD5')], ['manifest', str('yes')]), '22023', /^unrecognized checksum algorithm: "MD5"$/],
    [opts(['manifest_checksums', str('SHA256')]), '22023', /^manifest checksums require a backup manifest$/],
    [opts(['compression', str('brotli')]), '22023', /^unrecognized compression algorithm: "brotli"$/],
    [opts(['compression_detail', str('level=1')]), '22023', /^compression detail cannot be specified unless compression is enabled$/],
    [opts(['compression', str('gzip')], ['compression_detail', str('level=236')]), '22023', /^invalid compression specification: /],
    [opts(['label', null]), '42601', /^label requires a parameter$/],
  ];
  for (const [options, code, message] of cases) {
    const decision = decideBaseBackup('parenthesized', options);
    assert.equal(decision.kind, 'refuse', JSON.stringify(options));
    if (decision.kind === 'refuse') {
      assert.equal(decision.error.code, code, decision.error.message);
      assert.match(decision.error.message, message);
    }
  }
});

test('what serve cannot perform goes to the cluster unchanged', () => {
  for (const [syntax, options] of [
    ['keywords', opts(['label', str('x')])],
    ['parenthesized', opts(['target', str('server')], ['target_detail', str('/tmp/x')])],
    ['parenthesized', opts(['target', str('blackhole')])],
    ['parenthesized', opts(['incremental', null])],
    ['parenthesized', opts(['some_future_option', null])],
  ] as const) {
    assert.equal(decideBaseBackup(syntax, options).kind, 'relay', JSON.stringify(options));
  }
});
