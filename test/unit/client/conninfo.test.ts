import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import {
  isConnectionString, parseConninfo, quoteConninfoValue, renderPrimaryConninfo, resolveConnectionParams, type ConnectionInput,
} from '../../../src/client/conninfo.ts';
import { passwordOf } from '../../../src/client/credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-conninfo-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** Own enumerable string keys only: what a logger or JSON sees. */
const plain = (value: object): Record<string, unknown> => Object.fromEntries(Object.entries(value));
const noPgpass = { homeDir: dir, osUser: 'osuser', socketDirExists: () => false, onWarning: () => {} };

const PARSE_TABLE: Array<[string, Record<string, string>]> = [
  ['host=localhost port=5433 dbname=mydb', { host: 'localhost', port: '5433', dbname: 'mydb' }],
  ["  user = 'bob smith'   password='it\\'s \\\\ secret' ", { user: 'bob smith', password: "it's \\ secret" }],
  ["application_name=a\\ b sslmode=require", { application_name: 'a b', sslmode: 'require' }],
  ["password=''", { password: '' }],
  ['postgresql://', {}],
  ['postgresql://localhost', { host: 'localhost' }],
  ['postgres://user:p%40ss%3Aw@db.example.com:5433/my%20db', { user: 'user', password: 'p@ss:w', host: 'db.example.com', port: '5433', dbname: 'my db' }],
  ['postgresql://[::1]:5432/postgres?sslmode=verify-full&application_name=app%201', { host: '::1', port: '5432', dbname: 'postgres', sslmode: 'verify-full', application_name: 'app 1' }],
  ['postgresql://%2Fvar%2Frun%2Fpostgresql/db', { host: '/var/run/postgresql', dbname: 'db' }],
  ['postgresql:///db?host=/tmp&port=5499', { dbname: 'db', host: '/tmp', port: '5499' }],
  ['postgresql://u@h?ssl=true', { user: 'u', host: 'h', sslmode: 'require' }],
];

for (const [text, expected] of PARSE_TABLE) {
  test(`parses ${JSON.stringify(text)}`, () => {
    assert.deepEqual(Object.fromEntries(parseConninfo(text)), expected);
  });
}

const PARSE_ERRORS: string[] = [
  'host', 'host=a junk', "password='open", 'nosuch=1', 'sslrootcert=/x', 'host=a,b',
  'postgresql://h/db?x', 'postgresql://h/%zz', 'postgresql://[::1/db', 'postgresql://h/a%00b',
];

for (const text of PARSE_ERRORS) {
  test(`refuses ${JSON.stringify(text)} with OPTION_INVALID`, () => {
    assert.throws(() => parseConninfo(text), { code: 'OPTION_INVALID' });
  });
}

test('what counts as a connection string', () => {
  assert.equal(isConnectionString('mydb'), false);
  assert.equal(isConnectionString('host=x'), true);
  assert.equal(isConnectionString('postgresql://x'), true);
});

test('precedence: explicit flags > conninfo > environment > defaults', () => {
  const env = { PGHOST: 'envhost', PGPORT: '6000', PGUSER: 'envuser', PGDATABASE: 'envdb', PGSSLMODE: 'require', PGAPPNAME: 'envapp', PGCONNECT_TIMEOUT: '7' };
  const fromEnv = resolveConnectionParams({}, env, noPgpass);
  assert.deepEqual(plain(fromEnv), {
    host: 'envhost', port: 6000, user: 'envuser', database: 'envdb', sslmode: 'require', applicationName: 'envapp', connectTimeoutMs: 7000,
  });
  const fromConninfo = resolveConnectionParams({ dbname: 'host=chost port=6001 user=cuser dbname=cdb sslmode=disable application_name=capp connect_timeout=1' }, env, noPgpass);
  assert.deepEqual(plain(fromConninfo), {
    host: 'chost', port: 6001, user: 'cuser', database: 'cdb', sslmode: 'disable', applicationName: 'capp', connectTimeoutMs: 2000,
  });
  const input: ConnectionInput = { dbname: 'host=chost port=6001 user=cuser', host: 'fhost', port: '6002', user: 'fuser', sslmode: 'verify-ca', applicationName: 'fapp' };
  const fromFlags = resolveConnectionParams(input, env, noPgpass);
  assert.deepEqual([fromFlags.host, fromFlags.port, fromFlags.user, fromFlags.sslmode, fromFlags.applicationName],
    ['fhost', 6002, 'fuser', 'verify-ca', 'fapp']);
});

test('defaults as libpq: socket directory, 5432, OS user, prefer; replication connects to "replication"', () => {
  const params = resolveConnectionParams({ fallbackApplicationName: 'pg_basebackup' }, {}, { ...noPgpass, socketDirExists: (d) => d === '/var/run/postgresql' });
  assert.deepEqual(plain(params), {
    host: '/var/run/postgresql', port: 5432, user: 'osuser', database: 'osuser', sslmode: 'prefer', applicationName: 'pg_basebackup', connectTimeoutMs: 0,
  });
  assert.equal(resolveConnectionParams({}, {}, noPgpass).host, '/tmp');
  const replication = resolveConnectionParams({ replication: 'true' }, { PGDATABASE: 'ignored' }, noPgpass);
  assert.equal(replication.database, 'replication');
  assert.equal(replication.replication, 'true');
  assert.equal(resolveConnectionParams({ dbname: 'mydb' }, {}, noPgpass).database, 'mydb', 'a plain -d is a database name');
});

test('invalid values are OPTION_INVALID', () => {
  for (const input of [{ port: 'x' }, { port: '70000' }, { sslmode: 'sometimes' }, { connectTimeoutSeconds: 'soon' }, { dbname: 'replication=maybe' }]) {
    assert.throws(() => resolveConnectionParams(input as ConnectionInput, {}, noPgpass), { code: 'OPTION_INVALID' }, JSON.stringify(input));
  }
});

test('the password is never enumerable, survives spreading, and is not printed', () => {
  const params = resolveConnectionParams({ password: 'hunter2', host: 'h' }, {}, noPgpass);
  assert.equal(params.password, 'hunter2');
  assert.equal(Object.keys(params).includes('password'), false);
  assert.equal(JSON.stringify(params).includes('hunter2'), false);
  assert.equal(inspect(params, { showHidden: false, depth: 5 }).includes('hunter2'), false);
  const copy = { ...params, replication: 'true' as const };
  assert.equal(passwordOf(copy), 'hunter2');
  assert.equal(inspect(copy, { depth: 5 }).includes('hunter2'), false);
  assert.equal(JSON.stringify(copy).includes('hunter2'), false);
  assert.equal(resolveConnectionParams({}, { PGPASSWORD: 'envpw' }, noPgpass).password, 'envpw');
  assert.equal(resolveConnectionParams({ dbname: 'password=cpw' }, { PGPASSWORD: 'envpw' }, noPgpass).password, 'cpw');
});

test('password file: looked up when no password is given; PGPASSFILE and passfile= choose it', () => {
  const file = join(dir, 'pgpass');
  writeFileSync(file, '# comment\nh:5432:replication:u:pw-repl\nh:*:*:u:pw-any\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.equal(resolveConnectionParams({ host: 'h', user: 'u', replication: 'true' }, { PGPASSFILE: file }, noPgpass).password, 'pw-repl');
  assert.equal(resolveConnectionParams({ host: 'h', user: 'u' }, { PGPASSFILE: file }, noPgpass).password, 'pw-any');
  assert.equal(resolveConnectionParams({ dbname: `host=h user=u passfile=${file}` }, {}, noPgpass).password, 'pw-any');
  assert.equal(resolveConnectionParams({ host: 'h', user: 'u', password: 'given' }, { PGPASSFILE: file }, noPgpass).password, 'given');
  assert.equal(resolveConnectionParams({ host: 'other', user: 'u' }, { PGPASSFILE: file }, noPgpass).password, undefined);
});

test('a password file readable by others is ignored with libpq\'s warning', () => {
  const file = join(dir, 'pgpass-open');
  writeFileSync(file, '*:*:*:*:leaked\n');
  chmodSync(file, 0o644);
  const warnings: string[] = [];
  const params = resolveConnectionParams({ host: 'h' }, { PGPASSFILE: file }, { ...noPgpass, onWarning: (m) => warnings.push(m) });
  assert.equal(params.password, undefined);
  assert.deepEqual(warnings, [`password file "${file}" has group or world access; permissions should be u=rw (0600) or less`]);
});

test('~/.pgpass is the default password file', () => {
  const home = mkdtempSync(join(dir, 'home-'));
  writeFileSync(join(home, '.pgpass'), 'localhost:5432:*:u:sock-pw\n', { mode: 0o600 });
  const params = resolveConnectionParams({ host: '/tmp', user: 'u' }, {}, { ...noPgpass, homeDir: home });
  assert.equal(params.password, 'sock-pw', 'a socket directory matches "localhost"');
});

test('primary_conninfo as pg_basebackup renders it', () => {
  const typed = resolveConnectionParams({ host: '127.0.0.1', port: 5433, user: 'rep', password: "p'w\\x", sslmode: 'require' }, {}, noPgpass);
  assert.equal(renderPrimaryConninfo(typed), "user=rep password='p\\'w\\\\x' host=127.0.0.1 port=5433 sslmode=require");
  const file = join(dir, 'pgpass2');
  writeFileSync(file, '*:*:*:*:from-file\n', { mode: 0o600 });
  const fromFile = resolveConnectionParams({ dbname: `host=/tmp user=rep passfile=${file} application_name=standby1 connect_timeout=10` }, {}, noPgpass);
  assert.equal(fromFile.password, 'from-file');
  assert.equal(renderPrimaryConninfo(fromFile), `user=rep passfile='${file}' connect_timeout=10 host='/tmp' port=5432 application_name=standby1 sslmode=prefer`);
  assert.equal(renderPrimaryConninfo({ ...fromFile }), renderPrimaryConninfo(fromFile), 'a spread copy renders the same');
});

test('conninfo value quoting', () => {
  assert.equal(quoteConninfoValue('abc_1.2'), 'abc_1.2');
  assert.equal(quoteConninfoValue(''), "''");
  assert.equal(quoteConninfoValue("a b'c\\"), "'a b\\'c\\\\'");
});
