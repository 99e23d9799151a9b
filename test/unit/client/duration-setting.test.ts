import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDurationSetting } from '../../../src/client/duration-setting.ts';

test('SHOW output of time settings in milliseconds: every unit, a bare number in the base unit, 0 and -1', () => {
  const cases: Array<[string, number]> = [
    ['1min', 60_000], ['60s', 60_000], ['500ms', 500], ['2h', 7_200_000], ['1d', 86_400_000], ['1500us', 1.5], ['0', 0], ['-1', -1], ['250', 250],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationSetting('wal_sender_timeout', text, 1), ms, text);
  assert.equal(parseDurationSetting('checkpoint_timeout', '300', 1000), 300_000, 'base unit seconds');
});

test('anything else is MALFORMED_MESSAGE', () => {
  for (const text of ['', '1 fortnight', 'min', '1.5s', 'on']) {
    assert.throws(() => parseDurationSetting('wal_sender_timeout', text, 1), { code: 'MALFORMED_MESSAGE' }, text);
  }
});
