import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findPgpassPassword } from '../../../src/client/pgpass.ts';

const key = { host: 'db.example.com', port: 5432, database: 'replication', user: 'rep' };

const TABLE: Array<[string, string, string | undefined]> = [
  ['exact match', 'db.example.com:5432:replication:rep:secret', 'secret'],
  ['wildcards', '*:*:*:*:any', 'any'],
  ['first match wins', 'db.example.com:*:*:rep:first\n*:*:*:*:second', 'first'],
  ['no match', 'other:5432:replication:rep:x', undefined],
  ['wrong port', 'db.example.com:5433:*:*:x', undefined],
  ['comments and blank lines', '# db.example.com:5432:replication:rep:no\n\n*:*:*:rep:yes', 'yes'],
  ['escaped colon in a field', 'db.example.com:5432:replication:rep:a\\:b', 'a:b'],
  ['escaped backslash', 'db.example.com:5432:replication:rep:a\\\\b', 'a\\b'],
  ['password ends at an unescaped colon', 'db.example.com:5432:replication:rep:a:b', 'a'],
  ['an escaped star is literal', 'db.example.com:5432:\\*:rep:x', undefined],
  ['too few fields', 'db.example.com:5432:replication:rep', undefined],
  ['CRLF line ends', '*:*:*:*:crlf\r\n', 'crlf'],
];

for (const [name, text, expected] of TABLE) {
  test(`pgpass: ${name}`, () => {
    assert.equal(findPgpassPassword(text, key), expected);
  });
}

test('pgpass: a Unix socket host matches "localhost"', () => {
  assert.equal(findPgpassPassword('localhost:5432:*:*:sock', { ...key, host: '/var/run/postgresql' }), 'sock');
});
