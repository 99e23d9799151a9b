import assert from 'node:assert/strict';
import { test } from 'node:test';
import { membershipQuery, productionLookups, sqlLiteral } from '../../../../src/serve/hba/hba-lookups.ts';

test('SQL literals survive quotes and backslashes whatever standard_conforming_strings says', () => {
  assert.equal(sqlLiteral('plain'), "E'plain'");
  assert.equal(sqlLiteral("o'brien"), "E'o''brien'");
  assert.equal(sqlLiteral("a\\'; drop role x; --"), "E'a\\\\''; drop role x; --'");
});

test('membership asks the catalog, without pg_has_role\'s superuser shortcut', async () => {
  const sent: string[] = [];
  const lookups = productionLookups({ query: async (sql) => { sent.push(sql); return [[sent.length === 1 ? 't' : 'f']]; } });
  assert.equal(await lookups.isMember('alice', 'ops'), true);
  assert.equal(await lookups.isMember('alice', "o'ps"), false);
  assert.equal(await lookups.isMember('ali\0ce', 'ops'), false);
  assert.equal(sent.length, 2);
  assert.equal(sent[0], membershipQuery('alice', 'ops'));
  assert.match(sent[0] ?? '', /with recursive[^]*rolname = E'alice'[^]*pg_auth_members[^]*rolname = E'ops'\)$/);
  assert.doesNotMatch(sent[0] ?? '', /pg_has_role/);
  assert.match(sent[1] ?? '', /rolname = E'o''ps'/);
});

test('regular expressions go to the cluster under the C collation', async () => {
  const sent: string[] = [];
  const lookups = productionLookups({ query: async (sql) => { sent.push(sql); return [['t']]; } });
  assert.equal(await lookups.matchesRegex('rep_1', '^rep_'), true);
  assert.deepEqual(sent, [`select E'rep_1' ~ (E'^rep_' collate "C")`]);
});

test('interfaces and host names come from the system', async () => {
  const lookups = productionLookups({ query: async () => [] });
  assert.ok(lookups.interfaceNetworks().some((network) => network.address === '127.0.0.1' && network.netmask === '255.0.0.0'));
  assert.deepEqual(await lookups.hostnameOf('192.0.2.254'), []);
});
