import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvoyError } from '../../../src/errors/index.ts';
import { checkTargetTime, zoneFileExists } from '../../../src/restore/target-time.ts';
import { scratch } from './fixtures.ts';
import { TARGET_TIME_VECTORS, ZONES_FOR_TESTS } from './target-time-vectors.ts';

const knownZones = new Set(ZONES_FOR_TESTS.map((zone) => zone.toLowerCase()));
const testZones = (name: string): boolean => knownZones.has(name.toLowerCase());

function refusal(value: string): ConvoyError {
  try {
    checkTargetTime(value, testZones);
  } catch (error) {
    assert.ok(error instanceof ConvoyError, String(error));
    return error;
  }
  assert.fail(`"${value}" was accepted`);
}

test('every vector: accepted exactly when restore says so, and never what PostgreSQL refuses', () => {
  for (const vector of TARGET_TIME_VECTORS) {
    assert.ok(vector.postgres || !vector.ours, `vector "${vector.value}" would let through what PostgreSQL refuses`);
    let accepted = true;
    try {
      checkTargetTime(vector.value, testZones);
    } catch (error) {
      assert.ok(error instanceof ConvoyError && error.code === 'OPTION_INVALID', `"${vector.value}": ${String(error)}`);
      assert.ok(error.hint !== undefined && error.hint !== '', `"${vector.value}" is refused without a hint`);
      accepted = false;
    }
    assert.equal(accepted, vector.ours, `"${vector.value}"`);
  }
});

test('whether the value names a zone (without one the server reads it in its own TimeZone)', () => {
  assert.equal(checkTargetTime('2024-01-08 04:05:06', testZones).hasZone, false);
  assert.equal(checkTargetTime('2024-01-08', testZones).hasZone, false);
  assert.equal(checkTargetTime('2024-01-08 04:05:06+02', testZones).hasZone, true);
  assert.equal(checkTargetTime('2024-01-08 04:05:06 UTC', testZones).hasZone, true);
  assert.equal(checkTargetTime('2024-01-08 04:05:06 Europe/Paris', testZones).hasZone, true);
});

test('UTC and GMT need no zone database; other names do', () => {
  const none = (): boolean => false;
  assert.equal(checkTargetTime('2024-01-08 04:05:06 UTC', none).hasZone, true);
  assert.equal(checkTargetTime('2024-01-08 04:05:06 gmt', none).hasZone, true);
  assert.throws(() => checkTargetTime('2024-01-08 04:05:06 Europe/Paris', none), { code: 'OPTION_INVALID' });
});

test('the refusals say why: relative words, Z, abbreviations, ranges', () => {
  assert.match(refusal('not a time').message, /^invalid recovery target time "not a time": not a timestamp$/);
  assert.match(refusal('today 12:00').message, /"today" is not an absolute time/);
  assert.match(refusal('today 12:00').hint ?? '', /when the restored server starts/);
  assert.match(refusal('2024-01-08T04:05:06Z').hint ?? '', /\+00 or UTC/);
  assert.match(refusal('2024-01-08 04:05:06 PST').message, /unknown time zone "PST"/);
  assert.match(refusal('2024-01-08 04:05:06 PST').hint ?? '', /America\/Los_Angeles, not PST/);
  assert.match(refusal('2024-01-08 04:05:06+16').message, /offset "\+16" out of range/);
  assert.match(refusal('2023-02-29').message, /date\/time field value out of range/);
});

test('zone names are never paths out of the zone database', () => {
  const asked: string[] = [];
  const lookup = (name: string): boolean => {
    asked.push(name);
    return true;
  };
  for (const value of ['2024-01-08 04:05:06 ../../etc/passwd', '2024-01-08 04:05:06 Europe/../../x', '2024-01-08 04:05:06 /etc/localtime']) {
    assert.throws(() => checkTargetTime(value, lookup), { code: 'OPTION_INVALID' }, value);
  }
  assert.deepEqual(asked, []);
});

test('zoneFileExists: TZif files under TZDIR, any case per component; tables and directories are not zones', () => {
  const dir = scratch('zones');
  const saved = process.env['TZDIR'];
  try {
    mkdirSync(join(dir, 'Europe'));
    writeFileSync(join(dir, 'Europe', 'Paris'), Buffer.concat([Buffer.from('TZif2'), Buffer.alloc(40)]));
    writeFileSync(join(dir, 'zone.tab'), '# tz zone descriptions\n');
    process.env['TZDIR'] = dir;
    assert.equal(zoneFileExists('Europe/Paris'), true);
    assert.equal(zoneFileExists('EUROPE/paris'), true);
    assert.equal(zoneFileExists('Europe'), false);
    assert.equal(zoneFileExists('zone.tab'), false);
    assert.equal(zoneFileExists('Europe/Berlin'), false);
    assert.equal(zoneFileExists('Europe/Paris/x'), false);
    process.env['TZDIR'] = join(dir, 'missing');
    assert.equal(zoneFileExists('Europe/Paris'), false);
  } finally {
    if (saved === undefined) delete process.env['TZDIR'];
    else process.env['TZDIR'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
