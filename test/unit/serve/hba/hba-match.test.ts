import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HbaRule, HbaRuleSet } from '../../../../src/serve/hba/hba-rules.ts';
import {
  exchangeSatisfies, hbaRefusal, matchHba, type HbaClient, type HbaLookups, type HbaVerdict, type PasswordStrength,
} from '../../../../src/serve/hba/hba-match.ts';

function rule(lineNumber: number, line: string, options: string[] = []): HbaRule {
  const [type, databases, users, address, ...rest] = line.split(/\s+/);
  const hasMask = rest.length === 2;
  return {
    lineNumber, type: type as HbaRule['type'], databases: (databases ?? '').split(','), users: (users ?? '').split(','),
    address: address === '-' ? null : (address ?? null), netmask: hasMask ? (rest[0] ?? null) : null,
    authMethod: rest[rest.length - 1] ?? '', options,
  };
}

function rules(...lines: string[]): HbaRuleSet {
  return { rules: lines.map((line, i) => rule(i + 1, line)), errors: [] };
}

const MEMBERS: Record<string, string[]> = { ops: ['alice', 'bob'], admins: ['carol'] };
const HOSTNAMES: Record<string, string[]> = { '192.0.2.7': ['Backup1.Example.COM'], '2001:db8::7': ['v6host.example.net'] };

function fakeLookups(calls: string[] = []): HbaLookups {
  return {
    isMember: async (user, role) => { calls.push(`member ${user} ${role}`); return MEMBERS[role]?.includes(user) ?? false; },
    hostnameOf: async (address) => { calls.push(`host ${address}`); return HOSTNAMES[address] ?? []; },
    interfaceNetworks: () => [
      { address: '127.0.0.1', netmask: '255.0.0.0' },
      { address: '198.51.100.10', netmask: '255.255.255.0' },
      { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' },
      { address: 'fd00:1::10', netmask: 'ffff:ffff:ffff:ffff::' },
    ],
    matchesRegex: async (text, pattern) => { calls.push(`regex ${text} ${pattern}`); return new RegExp(pattern).test(text); },
  };
}

const client = (address: string, user = 'alice', ssl = false): HbaClient => ({ address, user, ssl });
const allow = (line: number, method: string, requires: PasswordStrength): HbaVerdict => ({ kind: 'allow', line, method, requires });

// [description, pg_hba lines ("type db user address [mask] method", "-" for no address), client, verdict]
const VECTORS: Array<[string, string[], HbaClient, HbaVerdict]> = [
  ['v4 CIDR inside', ['host replication all 10.0.0.0 255.0.0.0 scram-sha-256'], client('10.1.2.3'), allow(1, 'scram-sha-256', 'scram-sha-256')],
  ['v4 CIDR outside', ['host replication all 10.0.0.0 255.0.0.0 scram-sha-256'], client('11.1.2.3'), { kind: 'no-match' }],
  ['v4 /32', ['host replication all 10.0.0.5 255.255.255.255 md5'], client('10.0.0.5'), allow(1, 'md5', 'md5')],
  ['v4 /32 neighbour', ['host replication all 10.0.0.5 255.255.255.255 md5'], client('10.0.0.4'), { kind: 'no-match' }],
  ['non-contiguous netmask form', ['host replication all 10.0.0.5 255.0.0.255 password'], client('10.9.9.5'), allow(1, 'password', 'password')],
  ['v4 0.0.0.0/0', ['host replication all 0.0.0.0 0.0.0.0 trust'], client('203.0.113.9'), allow(1, 'trust', 'none')],
  ['::ffff-mapped client matches a v4 line', ['host replication all 192.168.0.0 255.255.0.0 md5'], client('::ffff:192.168.4.5'), allow(1, 'md5', 'md5')],
  ['::ffff-mapped client does not match a v6 line', ['host replication all ::ffff:0:0 ffff:ffff:ffff:ffff:ffff:ffff:: md5'], client('::ffff:192.168.4.5'), { kind: 'no-match' }],
  ['v4 client never matches a v6 line', ['host replication all :: :: trust'], client('10.0.0.1'), { kind: 'no-match' }],
  ['v6 /32 inside', ['host replication all 2001:db8:: ffff:ffff:: scram-sha-256'], client('2001:db8:0:1::42'), allow(1, 'scram-sha-256', 'scram-sha-256')],
  ['v6 /32 outside', ['host replication all 2001:db8:: ffff:ffff:: scram-sha-256'], client('2001:db9::42'), { kind: 'no-match' }],
  ['v6 /128 with embedded v4 spelling', ['host replication all ::1.2.3.4 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff md5'], client('::102:304'), allow(1, 'md5', 'md5')],
  ['v6 zone ignored', ['host replication all fe80:: ffff:ffff:ffff:ffff:: md5'], client('fe80::1%eth0'), allow(1, 'md5', 'md5')],
  ['address all', ['host replication all all md5'], client('2001:db8::1'), allow(1, 'md5', 'md5')],
  ['hostssl skipped without SSL', ['hostssl replication all all scram-sha-256', 'host replication all all md5'], client('10.0.0.1'), allow(2, 'md5', 'md5')],
  ['hostssl with SSL', ['hostssl replication all all scram-sha-256'], client('10.0.0.1', 'alice', true), allow(1, 'scram-sha-256', 'scram-sha-256')],
  ['hostnossl skipped with SSL', ['hostnossl replication all all reject', 'host replication all all md5'], client('10.0.0.1', 'alice', true), allow(2, 'md5', 'md5')],
  ['hostnossl without SSL', ['hostnossl replication all all reject'], client('10.0.0.1'), { kind: 'reject', line: 1 }],
  ['hostgssenc never, hostnogssenc always', ['hostgssenc replication all all trust', 'hostnogssenc replication all all md5'], client('10.0.0.1', 'alice', true), allow(2, 'md5', 'md5')],
  ['local never matches', ['local replication all - trust'], client('127.0.0.1'), { kind: 'no-match' }],
  ['database all does not cover replication', ['host all all all trust', 'host sameuser,samerole all all trust'], client('10.0.0.1'), { kind: 'no-match' }],
  ['replication among several databases', ['host postgres,replication all all md5'], client('10.0.0.1'), allow(1, 'md5', 'md5')],
  ['user by name, case-sensitive', ['host replication Alice all trust', 'host replication alice all md5'], client('10.0.0.1'), allow(2, 'md5', 'md5')],
  ['user list', ['host replication bob,alice all md5'], client('10.0.0.1'), allow(1, 'md5', 'md5')],
  ['+group member', ['host replication +ops all md5'], client('10.0.0.1', 'bob'), allow(1, 'md5', 'md5')],
  ['+group non-member', ['host replication +admins all md5'], client('10.0.0.1', 'bob'), { kind: 'no-match' }],
  ['+ alone names no role', ['host replication + all md5'], client('10.0.0.1', '+'), allow(1, 'md5', 'md5')],
  ['regex user', ['host replication /^rep_ all md5'], client('10.0.0.1', 'rep_1'), allow(1, 'md5', 'md5')],
  ['first match wins: reject first', ['host replication alice all reject', 'host replication all all trust'], client('10.0.0.1'), { kind: 'reject', line: 1 }],
  ['first match wins: allow first', ['host replication all all md5', 'host replication alice all reject'], client('10.0.0.1'), allow(1, 'md5', 'md5')],
  ['unsupported method stops the search', ['host replication all all cert', 'host replication all all trust'], client('10.0.0.1'), { kind: 'unsupported', line: 1, method: 'cert' }],
  ['ldap unsupported', ['host replication all all ldap'], client('10.0.0.1'), { kind: 'unsupported', line: 1, method: 'ldap' }],
  ['samehost v4', ['host replication all samehost trust'], client('198.51.100.10'), allow(1, 'trust', 'none')],
  ['samehost mapped', ['host replication all samehost trust'], client('::ffff:127.0.0.1'), allow(1, 'trust', 'none')],
  ['samehost other address', ['host replication all samehost trust'], client('198.51.100.11'), { kind: 'no-match' }],
  ['samenet v4', ['host replication all samenet md5'], client('198.51.100.99'), allow(1, 'md5', 'md5')],
  ['samenet v4 outside', ['host replication all samenet md5'], client('198.51.101.99'), { kind: 'no-match' }],
  ['samenet v6', ['host replication all samenet md5'], client('fd00:1::abcd'), allow(1, 'md5', 'md5')],
  ['hostname, case-insensitive', ['host replication all backup1.example.com md5'], client('192.0.2.7'), allow(1, 'md5', 'md5')],
  ['hostname suffix', ['host replication all .example.com md5'], client('::ffff:192.0.2.7'), allow(1, 'md5', 'md5')],
  ['hostname suffix needs the dot', ['host replication all .ample.com md5', 'host replication all example.com md5'], client('192.0.2.7'), { kind: 'no-match' }],
  ['v6 hostname', ['host replication all v6host.example.net md5'], client('2001:db8::7'), allow(1, 'md5', 'md5')],
  ['unresolved client matches no hostname', ['host replication all .example.com md5'], client('192.0.2.8'), { kind: 'no-match' }],
];

test('pg_hba.conf matching for a physical replication connection', async () => {
  for (const [description, lines, who, expected] of VECTORS) {
    assert.deepEqual(await matchHba(rules(...lines), who, fakeLookups()), expected, description);
  }
});

test('clientcert cannot be honoured; errors are not rules', async () => {
  const set: HbaRuleSet = { rules: [rule(3, 'hostssl replication all all scram-sha-256', ['clientcert=verify-full'])], errors: ['line 2: bad'] };
  assert.deepEqual(await matchHba(set, client('10.0.0.1', 'alice', true), fakeLookups()),
    { kind: 'unsupported', line: 3, method: 'scram-sha-256', option: 'clientcert=verify-full' });
  const reject: HbaRuleSet = { rules: [rule(3, 'hostssl replication all all reject', ['clientcert=verify-ca'])], errors: [] };
  assert.deepEqual(await matchHba(reject, client('10.0.0.1', 'alice', true), fakeLookups()), { kind: 'reject', line: 3 });
});

test('lookups only when needed, and the host name once per connection', async () => {
  const calls: string[] = [];
  const set = rules('host replication all 10.0.0.0 255.0.0.0 trust', 'host replication nobody .example.com md5',
    'host replication +ops backup1.example.com md5', 'host replication all .example.com md5');
  assert.deepEqual(await matchHba(set, client('::ffff:192.0.2.7', 'carol'), fakeLookups(calls)), allow(4, 'md5', 'md5'));
  assert.deepEqual(calls, ['host 192.0.2.7', 'member carol ops']);
});

test('an address the view could not have printed is an error, not a skipped line', async () => {
  await assert.rejects(matchHba(rules('host replication all 10.0.0.x 255.0.0.0 reject'), client('10.0.0.1'), fakeLookups()), { code: 'MALFORMED_MESSAGE' });
  await assert.rejects(matchHba(rules('host replication all 10.0.0.0 ffff:: reject'), client('10.0.0.1'), fakeLookups()), { code: 'MALFORMED_MESSAGE' });
  await assert.rejects(matchHba(rules('host replication all - reject'), client('10.0.0.1'), fakeLookups()), { code: 'MALFORMED_MESSAGE' });
});

test('exchange strength: none < password < md5 < scram-sha-256', () => {
  const order: PasswordStrength[] = ['none', 'password', 'md5', 'scram-sha-256'];
  for (const [r, requires] of order.entries()) {
    for (const [e, exchange] of order.entries()) assert.equal(exchangeSatisfies(requires, exchange), e >= r, `${requires} by ${exchange}`);
  }
});

test('refusals in PostgreSQL\'s words', () => {
  assert.deepEqual(hbaRefusal({ kind: 'no-match' }, client('::ffff:10.0.0.1', 'rep')), {
    severity: 'FATAL', code: '28000', message: 'no pg_hba.conf entry for replication connection from host "10.0.0.1", user "rep", no encryption',
  });
  assert.deepEqual(hbaRefusal({ kind: 'no-match' }, client('2001:db8::1', 'rep', true)), {
    severity: 'FATAL', code: '28000', message: 'no pg_hba.conf entry for replication connection from host "2001:db8::1", user "rep", SSL encryption',
  });
  assert.deepEqual(hbaRefusal({ kind: 'reject', line: 4 }, client('10.0.0.1', 'rep', true)), {
    severity: 'FATAL', code: '28000', message: 'pg_hba.conf rejects replication connection for host "10.0.0.1", user "rep", SSL encryption',
  });
  const unsupported = hbaRefusal({ kind: 'unsupported', line: 7, method: 'cert' }, client('10.0.0.1'));
  assert.equal(unsupported.code, '28000');
  assert.equal(unsupported.message, 'authentication method "cert" of pg_hba.conf line 7 cannot be relayed by pgconvoy serve');
  assert.match(unsupported.hint ?? '', /ahead of line 7/);
  assert.equal(hbaRefusal({ kind: 'unsupported', line: 2, method: 'md5', option: 'clientcert=verify-ca' }, client('10.0.0.1')).message,
    'option "clientcert=verify-ca" of pg_hba.conf line 2 cannot be relayed by pgconvoy serve');
  const weak = hbaRefusal(allow(5, 'scram-sha-256', 'scram-sha-256'), client('10.0.0.1', 'rep'), 'md5');
  assert.equal(weak.severity, 'FATAL');
  assert.equal(weak.code, '28P01');
  assert.equal(weak.message, 'password authentication failed for user "rep"');
  assert.equal(weak.detail, 'pg_hba.conf line 5 requires "scram-sha-256" for this connection, but the cluster asked pgconvoy serve for "md5".');
  assert.match(weak.hint ?? '', /pgconvoy serve's own address/);
  assert.match(hbaRefusal(allow(5, 'md5', 'md5'), client('10.0.0.1'), 'none').detail ?? '', /asked pgconvoy serve for no password at all\.$/);
  assert.throws(() => hbaRefusal(allow(5, 'md5', 'md5'), client('10.0.0.1')), { code: 'INTERNAL_ASSERTION' });
});
