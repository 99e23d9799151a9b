import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hbaRulesFromRows, hbaRulesQuery, parseTextArray } from '../../../../src/serve/hba/hba-rules.ts';

test('text arrays as PostgreSQL prints them', () => {
  const vectors: Array<[string, string[]]> = [
    ['{}', []],
    ['{replication}', ['replication']],
    ['{replication,all}', ['replication', 'all']],
    ['{"a b",c}', ['a b', 'c']],
    ['{"with \\"quote\\"","back\\\\slash"}', ['with "quote"', 'back\\slash']],
    ['{"a,b","{x}",""}', ['a,b', '{x}', '']],
    ['{"NULL",+admins,/^rep.*$}', ['NULL', '+admins', '/^rep.*$']],
    ['{clientcert=verify-full,"map=my map"}', ['clientcert=verify-full', 'map=my map']],
    ['{"ünï",ç}', ['ünï', 'ç']],
  ];
  for (const [text, expected] of vectors) assert.deepEqual(parseTextArray(text), expected, text);
});

test('text arrays that PostgreSQL would not print are refused', () => {
  for (const text of ['', 'replication', '{a', '{"a}', '{a,}', '{,a}', '{NULL}', '{{a}}', '{a"b}', '{"a"b}', '{a}x', '{"a\\}']) {
    assert.throws(() => parseTextArray(text), { code: 'MALFORMED_MESSAGE' }, text);
  }
});

test('the query keeps one column list and orders by evaluation order', () => {
  for (const version of [150004, 160000, 170002, 180000]) {
    assert.match(hbaRulesQuery(version),
      /^select line_number, type, database, user_name, address, netmask, auth_method, options, error from pg_catalog\.pg_hba_file_rules order by /);
  }
  assert.match(hbaRulesQuery(150010), /order by line_number$/);
  assert.match(hbaRulesQuery(160000), /order by rule_number nulls last, line_number$/);
});

test('rows become rules; error rows become errors', () => {
  const set = hbaRulesFromRows([
    ['1', 'local', '{all}', '{all}', null, null, 'peer', null, null],
    ['4', 'hostssl', '{replication}', '{rep,"+ops"}', '10.0.0.0', '255.0.0.0', 'scram-sha-256', '{clientcert=verify-ca}', null],
    ['7', null, null, null, null, null, null, null, 'invalid IP address "10.0.0.300": Name or service not known'],
    ['9', 'host', '{replication}', '{all}', '.example.com', null, 'md5', null, null],
  ]);
  assert.deepEqual(set.errors, ['line 7: invalid IP address "10.0.0.300": Name or service not known']);
  assert.deepEqual(set.rules, [
    { lineNumber: 1, type: 'local', databases: ['all'], users: ['all'], address: null, netmask: null, authMethod: 'peer', options: [] },
    { lineNumber: 4, type: 'hostssl', databases: ['replication'], users: ['rep', '+ops'], address: '10.0.0.0', netmask: '255.0.0.0',
      authMethod: 'scram-sha-256', options: ['clientcert=verify-ca'] },
    { lineNumber: 9, type: 'host', databases: ['replication'], users: ['all'], address: '.example.com', netmask: null, authMethod: 'md5', options: [] },
  ]);
});

test('rows that do not look like the view are refused', () => {
  const good = ['1', 'host', '{replication}', '{all}', 'all', null, 'trust', null, null];
  assert.throws(() => hbaRulesFromRows([good.slice(0, 8)]), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => hbaRulesFromRows([['x', ...good.slice(1)]]), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => hbaRulesFromRows([[null, ...good.slice(1)]]), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => hbaRulesFromRows([['1', 'hostx', ...good.slice(2)]]), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => hbaRulesFromRows([['1', 'host', null, ...good.slice(3)]]), { code: 'MALFORMED_MESSAGE' });
});
