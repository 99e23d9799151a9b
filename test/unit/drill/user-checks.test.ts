import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRows } from '../../../src/drill/user-checks.ts';

test('a single boolean decides; a single NULL fails; anything else passes by running', () => {
  assert.deepEqual(judgeRows('q', [['t']]), { sql: 'q', ok: true, value: 't', rows: 1, error: null });
  assert.deepEqual(judgeRows('q', [['f']]), { sql: 'q', ok: false, value: 'f', rows: 1, error: 'returned false' });
  assert.deepEqual(judgeRows('q', [[null]]), { sql: 'q', ok: false, value: null, rows: 1, error: 'returned NULL' });
  assert.deepEqual(judgeRows('q', [['5000']]), { sql: 'q', ok: true, value: '5000', rows: 1, error: null });
  assert.deepEqual(judgeRows('q', []), { sql: 'q', ok: true, value: null, rows: 0, error: null });
  assert.equal(judgeRows('q', [['f', 'f']]).ok, true, 'two columns are not one boolean');
  assert.equal(judgeRows('q', [['f'], ['f']]).ok, true, 'two rows are not one boolean');
});
