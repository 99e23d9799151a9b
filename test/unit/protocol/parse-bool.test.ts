import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBool } from '../../../src/protocol/parse-bool.ts';

test('every spelling parse_bool takes', () => {
  for (const text of ['t', 'tr', 'tru', 'true', 'TRUE', 'True', 'y', 'ye', 'yes', 'YES', 'on', 'ON', '1']) assert.equal(parseBool(text), true, text);
  for (const text of ['f', 'fa', 'fal', 'fals', 'false', 'FALSE', 'n', 'no', 'NO', 'of', 'off', 'OFF', '0']) assert.equal(parseBool(text), false, text);
});

test('what it refuses: the empty string, an ambiguous "o", longer words, spaces, other numbers', () => {
  for (const text of ['', 'o', 'O', 'truex', 'yess', 'onn', 'offf', 'nope', ' true', 'true ', '01', '2', '-1', 'database', 'maybe']) {
    assert.equal(parseBool(text), null, JSON.stringify(text));
  }
});

test('only ASCII letters fold: a non-ASCII look-alike is no boolean', () => {
  assert.equal(parseBool('\u0130'), null); // capital I with dot
  assert.equal(parseBool('\uff54rue'), null); // fullwidth t
});
