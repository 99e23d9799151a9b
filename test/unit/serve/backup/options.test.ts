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

test('bad options are refused with PostgreSQL\'s words and SQLSTATE (42601 for all but MAX_RATE\'s range)', () => {
  const cases: Array<[ReturnType<typeof opts>, string, RegExp]> = [
    [opts(['progress', null], ['progress', null]), '42601', /^duplicate option "progress"$/],
    [opts(['checkpoint', str('slow')]), '42601', /^unrecognized checkpoint type: "slow"$/],
    [opts(['checkpoint', num('1')]), '42601', /^unrecognized checkpoint type: "1"$/],
    [opts(['max_rate', num('5')]), '22003', /^5 is outside the valid range for parameter "MAX_RATE" \(32 \.\. 1048576\)$/],
    [opts(['max_rate', num('0')]), '22003', /^0 is outside the valid range for parameter "MAX_RATE" \(32 \.\. 1048576\)$/],
    [opts(['max_rate', num('1048577')]), '22003', /^1048577 is outside the valid range/],
    [opts(['max_rate', null]), '42601', /^max_rate requires a numeric value$/],
    [opts(['max_rate', str('fast')]), '42601', /^max_rate requires a numeric value$/],
    [opts(['wal', str('yes')]), '42601', /^wal requires a Boolean value$/],
    [opts(['manifest', str('maybe')]), '42601', /^unrecognized manifest option: "maybe"$/],
    [opts(['manifest_checksums', str('MD5')], ['manifest', str('yes')]), '42601', /^unrecognized checksum algorithm: "MD5"$/],
    [opts(['manifest', str('no')], ['manifest_checksums', str('bogus')]), '42601', /^unrecognized checksum algorithm: "bogus"$/],
    [opts(['manifest_checksums', str('SHA256')]), '42601', /^manifest checksums require a backup manifest$/],
    [opts(['compression', str('brotli')]), '42601', /^unrecognized compression algorithm: "brotli"$/],
    [opts(['compression', str('GZIP')]), '42601', /^unrecognized compression algorithm: "GZIP"$/],
    [opts(['compression_detail', str('level=1')]), '42601', /^compression detail cannot be specified unless compression is enabled$/],
    [opts(['compression', str('none')], ['compression_detail', str('level=1')]), '42601',
      /^invalid compression specification: compression algorithm "none" does not accept a compression level$/],
    [opts(['compression', str('gzip')], ['compression_detail', str('level=236')]), '42601', /^invalid compression specification: /],
    [opts(['label', null]), '42601', /^label requires a parameter$/],
    [opts(['target', null]), '42601', /^target requires a parameter$/],
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

test('the first error in the order given is the one reported, as PostgreSQL reports it', () => {
  const first = (options: ReturnType<typeof opts>): string => {
    const decision = decideBaseBackup('parenthesized', options);
    return decision.kind === 'refuse' ? decision.error.message : decision.kind;
  };
  assert.equal(first(opts(['checkpoint', str('bad')], ['label', str('a')], ['label', str('b')])), 'unrecognized checkpoint type: "bad"');
  assert.equal(first(opts(['label', str('a')], ['label', str('b')], ['checkpoint', str('bad')])), 'duplicate option "label"');
  // the options one by one before what they say together
  assert.equal(first(opts(['manifest_checksums', str('SHA256')], ['max_rate', num('1')])), '1 is outside the valid range for parameter "MAX_RATE" (32 .. 1048576)');
  assert.equal(first(opts(['compression_detail', str('x')], ['max_rate', num('1')])), '1 is outside the valid range for parameter "MAX_RATE" (32 .. 1048576)');
});

test('MANIFEST takes parse_bool\'s spellings and force-encode in any case', () => {
  const manifest = (text: string): string | null => {
    const decision = decideBaseBackup('parenthesized', opts(['manifest', str(text)]));
    return decision.kind === 'perform' ? decision.request.manifest : null;
  };
  assert.deepEqual(['t', 'yes', 'ON', '1', 'f', 'no', 'off', '0', 'FORCE-ENCODE', 'force-encode'].map(manifest),
    ['yes', 'yes', 'yes', 'yes', 'no', 'no', 'no', 'no', 'force-encode', 'force-encode']);
});

test('what serve cannot perform goes to the cluster unchanged', () => {
  for (const [syntax, options] of [
    ['keywords', opts(['label', str('x')])],
    ['parenthesized', opts(['target', str('server')], ['target_detail', str('/tmp/x')])],
    ['parenthesized', opts(['target', str('blackhole')])],
    ['parenthesized', opts(['target', str('CLIENT')])], // the target name is case-sensitive: PostgreSQL says what CLIENT is
    ['parenthesized', opts(['target', str('client')], ['target_detail', str('x')])],
    ['parenthesized', opts(['incremental', null])],
    ['parenthesized', opts(['some_future_option', null])],
  ] as const) {
    assert.equal(decideBaseBackup(syntax, options).kind, 'relay', JSON.stringify(options));
  }
});
