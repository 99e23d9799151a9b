/**
 * `pgconvoy backup` logins and failures against a real PostgreSQL 15: SCRAM and MD5 roles back up; a wrong
 * password, a role without REPLICATION, a connection no pg_hba.conf line allows, an unreachable server, bad or
 * conflicting options (-t and --waldir among them), a non-empty target, a walsender terminated mid-stream and a
 * full disk each end with exit status 1 and exactly one `pgconvoy: error:` line (plus optional detail/hint lines),
 * and leave nothing that looks like a backup: the directory it created is gone, or with --no-clean left without
 * backup_manifest. Nothing is left running on the server either (no walsender, no slot).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chownForServer } from '../../../src/cluster/os-user.ts';
import { freePort } from '../../../src/cluster/free-port.ts';
import { createRole, majorMatrix, psql, runCli, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { assertOneError, convoy, convoyOk, run } from './tools.ts';

const skip = majorMatrix().find((entry) => entry.major === 15)?.skip ?? 'PostgreSQL 15 is not installed';

let cluster: TestCluster;
let work: string;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15 });
  // initdb's catch-all trust lines would let any role in; keep only the lines for named roles.
  const hbaPath = join(cluster.dataDir, 'pg_hba.conf');
  const hba = await readFile(hbaPath, 'utf8');
  await writeFile(hbaPath, hba.split('\n').filter((line) => !/^(local|host)\s+(all|replication)\s+all\s/.test(line)).join('\n'));
  await chownForServer(hbaPath);
  await cluster.reload();
  await createRole(cluster, 'scram_user', { password: 'scram secret', method: 'scram-sha-256', replication: true });
  await createRole(cluster, 'md5_user', { password: "md5'secret", method: 'md5', replication: true });
  await createRole(cluster, 'no_replication', { password: 'plain', method: 'scram-sha-256', replication: false });
  await psql(cluster, 'create role no_hba_line login replication');
  work = await tmpDir('backup-errors');
});

after(async () => {
  if (skip === false) await cluster.stopAndRemove();
});

let counter = 0;
/** A target path that does not exist yet. */
function freshDir(): string {
  return join(work, `target-${++counter}`);
}

/** Ends when the server has no walsender and no replication slot left from our runs. */
async function assertServerClean(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [[senders, slots] = []] = await psql(cluster,
      "select (select count(*) from pg_stat_activity where backend_type = 'walsender'), (select count(*) from pg_replication_slots)");
    if (senders === '0' && slots === '0') return;
    if (Date.now() > deadline) assert.fail(`server still has ${senders ?? '?'} walsender(s) and ${slots ?? '?'} slot(s)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function assertBackupTaken(dir: string): Promise<void> {
  assert.deepEqual((await readdir(dir)).sort(), ['backup_manifest', 'base.tar']);
}

test('SCRAM role: -d connection string with the password, with -w and without', { skip }, async () => {
  const conninfo = `host=${cluster.host} port=${cluster.port} user=scram_user password='scram secret'`;
  for (const extra of [['-w'], []]) {
    const dir = freshDir();
    const result = await runCli(['backup', '-d', conninfo, '-c', 'fast', '-Ft', '-X', 'fetch', '-D', dir, ...extra]);
    assert.equal(result.status, 0, `${extra.join(' ') || 'no -w'}: ${result.stderr}`);
    await assertBackupTaken(dir);
  }
});

test('MD5 role: PGPASSWORD, with -w and without', { skip }, async () => {
  for (const extra of [['-w'], []]) {
    const dir = freshDir();
    const result = await runCli(['backup', '-h', cluster.host, '-p', String(cluster.port), '-U', 'md5_user', '-c', 'fast', '-Ft', '-X', 'fetch', '-D', dir, ...extra],
      { env: { PGPASSWORD: "md5'secret" } });
    assert.equal(result.status, 0, `${extra.join(' ') || 'no -w'}: ${result.stderr}`);
    await assertBackupTaken(dir);
  }
});

test('refused logins and unreachable servers: one error line, no directory', { skip }, async () => {
  const deadPort = await freePort();
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['wrong password', ['-U', 'scram_user'], { PGPASSWORD: 'wrong' }, /password authentication failed for user "scram_user"/],
    ['no password at all', ['-U', 'scram_user', '-w'], {}, /no password supplied/],
    ['role without REPLICATION', ['-U', 'no_replication'], { PGPASSWORD: 'plain' }, /must be superuser or replication role|permission denied to start WAL sender/],
    ['no pg_hba.conf entry', ['-U', 'no_hba_line'], {}, /no pg_hba\.conf entry for replication connection from host "127\.0\.0\.1", user "no_hba_line"/],
  ];
  const results = await Promise.all(cases.map(async ([what, args, env, pattern]) => {
    const dir = freshDir();
    const result = await runCli(['backup', '-h', cluster.host, '-p', String(cluster.port), '-c', 'fast', '-Ft', '-D', dir, ...args], { env });
    return { what, dir, result, pattern };
  }));
  const unreachable = [
    { what: 'nothing listening', args: ['-h', '127.0.0.1', '-p', String(deadPort)], pattern: /connection to server at "127\.0\.0\.1", port \d+ failed: .*refused/i },
    { what: 'unroutable address', args: ['-d', 'host=10.255.255.1 port=5432 connect_timeout=2'], pattern: /connection to server at "10\.255\.255\.1", port 5432 failed/ },
  ];
  for (const { what, args, pattern } of unreachable) {
    const dir = freshDir();
    results.push({ what, dir, result: await runCli(['backup', ...args, '-D', dir, '-U', 'postgres'], { timeoutMs: 30_000 }), pattern });
  }
  const failures: string[] = [];
  for (const { what, dir, result, pattern } of results) {
    try {
      assertOneError(result, pattern);
      assert.ok(!existsSync(dir), 'no directory is created before the server accepted us');
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
  await assertServerClean();
});

test('unknown, invalid and conflicting options: one error line, nothing created', { skip }, async () => {
  const conn = ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres'];
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /unknown option '--bogus'/],
    [['-D', '-', '-Fp'], /stdout.*plain|plain.*stdout/],
    [['-D', '-', '-Ft', '-X', 'stream'], /cannot stream write-ahead logs in tar mode to stdout/],
    [['-S', 'some_slot', '-X', 'fetch'], /replication slots can only be used with WAL streaming/],
    [['-C'], /--create-slot needs a slot to be specified using --slot/],
    [['-S', 'some_slot', '--no-slot'], /--no-slot cannot be used with slot name/],
    [['-z', '-Fp'], /only tar mode backups can be compressed/],
    [['-X', 'sometimes'], /invalid WAL method "sometimes"/],
    [['-F', 'zip'], /invalid output format "zip"/],
    [['-r', '1'], /transfer rate/],
    [['-Z', 'gzip:level=236'], /gzip.*between 1 and 9/],
    [['--no-manifest', '--manifest-checksums', 'SHA256'], /incompatible/],
    // -t and --waldir: pg_basebackup's rules
    [['-t', 'blackhole', '-F', 't', '-X', 'fetch'], /cannot specify both format and backup target/],
    [['-t', 'blackhole', '-X', 'fetch', '-D', freshDir()], /cannot specify both output directory and backup target/],
    [['-t', 'blackhole'], /WAL cannot be streamed when a backup target is specified/],
    [['-t', 'blackhole', '-X', 'fetch', '-R'], /recovery configuration cannot be written when a backup target is used/],
    [['-t', 'blackhole', '-X', 'fetch', '--waldir', join(work, 'never-wal')], /WAL directory location cannot be specified along with a backup target/],
    [['-F', 't', '--waldir', join(work, 'never-wal')], /WAL directory location can only be specified in plain mode/],
    [['--waldir', 'relative/wal'], /WAL directory location must be an absolute path/],
  ];
  const runs = await Promise.all(cases.map(async ([args, pattern]) => {
    const dir = freshDir();
    const withDir = args.includes('-D') || args.includes('-t') ? args : [...args, '-D', dir];
    return { args, pattern, dir, result: await runCli(['backup', ...conn, ...withDir]) };
  }));
  const noTarget = await runCli(['backup', ...conn]);
  const failures: string[] = [];
  for (const { args, pattern, dir, result } of [...runs, { args: ['(no -D)'], pattern: /no target directory specified/, dir: freshDir(), result: noTarget }]) {
    try {
      assertOneError(result, pattern);
      assert.ok(!existsSync(dir) && !existsSync(join(work, 'never-wal')), 'nothing created');
    } catch (error) {
      failures.push(`${args.join(' ')}: ${(error as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
  await assertServerClean();
});

test('a non-empty target directory is refused and left as it was', { skip }, async () => {
  const dir = freshDir();
  await mkdir(dir);
  await writeFile(join(dir, 'keep.txt'), 'mine');
  for (const format of ['plain', 'tar']) {
    const result = await convoy(cluster, ['-D', dir, '-F', format]);
    assertOneError(result, new RegExp(`directory "${dir}" exists but is not empty`));
    assert.deepEqual(await readdir(dir), ['keep.txt']);
  }
  await assertServerClean();
});

type CliRun = Awaited<ReturnType<typeof convoy>>;

/**
 * Starts a slowed-down backup (-r 32k), waits until the server streams database files and a walsender runs
 * `command`, runs `whileRunning`, then terminates that walsender and returns the CLI's result.
 */
async function terminatedMidStream(args: string[], command: 'BASE_BACKUP' | 'START_REPLICATION', whileRunning?: () => Promise<void>): Promise<CliRun> {
  const running = convoy(cluster, ['-r', '32k', ...args]);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [[pid] = []] = await psql(cluster,
      `select a.pid from pg_stat_activity a where a.backend_type = 'walsender' and a.query like '${command}%' ` +
      "and exists (select 1 from pg_stat_progress_basebackup where phase = 'streaming database files')");
    if (pid !== undefined && pid !== null) {
      await whileRunning?.();
      await psql(cluster, `select pg_terminate_backend(${pid})`);
      break;
    }
    if (Date.now() > deadline) assert.fail(`no ${command} walsender appeared: ${(await running).stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return running;
}

async function slots(): Promise<Array<Array<string | null>>> {
  return psql(cluster, 'select slot_name, temporary, restart_lsn is not null, restart_lsn <= (select checkpoint_lsn from pg_control_checkpoint()) from pg_replication_slots order by 1');
}

test('replication slots: WAL held from before the start checkpoint by default, none with --no-slot; -C -S and -S', { skip }, async () => {
  const seen: Record<string, Array<Array<string | null>>> = {};
  for (const [what, args, command] of [
    ['stream', ['-Ft', '-X', 'stream'], 'START_REPLICATION'],
    ['fetch', ['-Ft', '-X', 'fetch'], 'BASE_BACKUP'],
    ['stream --no-slot', ['-Ft', '-X', 'stream', '--no-slot'], 'START_REPLICATION'],
  ] as const) {
    const result = await terminatedMidStream(['-D', freshDir(), ...args], command, async () => {
      seen[what] = await slots();
    });
    assertOneError(result);
  }
  // The slot's restart point is at or before the backup's start checkpoint (the latest checkpoint while it runs).
  assert.deepEqual(seen['stream']?.map((row) => [/^pgconvoy_\d+$/.test(row[0] ?? ''), ...row.slice(1)]), [[true, 't', 't', 't']]);
  assert.deepEqual(seen['fetch']?.map((row) => [/^pgconvoy_fetch_\d+$/.test(row[0] ?? ''), ...row.slice(1)]), [[true, 't', 't', 't']]);
  assert.deepEqual(seen['stream --no-slot'], []);
  await assertServerClean();

  const created = freshDir();
  await convoyOk(cluster, ['-D', created, '-Ft', '-X', 'stream', '-C', '-S', 'kept_slot']);
  assert.deepEqual(await psql(cluster, "select temporary, restart_lsn is not null from pg_replication_slots where slot_name = 'kept_slot'"), [['f', 't']]);
  const again = freshDir();
  assertOneError(await convoy(cluster, ['-D', again, '-Ft', '-X', 'stream', '-C', '-S', 'kept_slot']), /replication slot "kept_slot" already exists/);
  assert.ok(!existsSync(again));
  await convoyOk(cluster, ['-D', freshDir(), '-Ft', '-X', 'stream', '-S', 'kept_slot']);
  await psql(cluster, "select pg_drop_replication_slot('kept_slot')");
  const missing = freshDir();
  assertOneError(await convoy(cluster, ['-D', missing, '-Ft', '-X', 'stream', '-S', 'no_such_slot']), /replication slot "no_such_slot" does not exist/);
  assert.ok(!existsSync(missing));
  await assertServerClean();
});

test('a walsender terminated mid-stream: one error line, partial output removed (or kept without manifest with -n)', { skip }, async (t: TestContext) => {
  const cases: Array<[string, string[], 'BASE_BACKUP' | 'START_REPLICATION', boolean]> = [
    ['plain, the base backup\'s walsender', ['-Fp', '-X', 'stream'], 'BASE_BACKUP', false],
    ['tar, the WAL streaming walsender', ['-Ft', '-X', 'stream'], 'START_REPLICATION', false],
    ['plain --no-clean, the base backup\'s walsender', ['-Fp', '-X', 'stream', '--no-clean'], 'BASE_BACKUP', true],
    ['tar -n, the WAL streaming walsender', ['-Ft', '-X', 'stream', '-n'], 'START_REPLICATION', true],
  ];
  for (const [what, args, command, keeps] of cases) {
    await t.test(what, async () => {
      const dir = freshDir();
      const result = await terminatedMidStream(['-D', dir, ...args], command);
      assertOneError(result, /terminat/);
      if (keeps) {
        const left = await readdir(dir);
        assert.ok(left.length > 0, 'partial output kept');
        assert.ok(!left.includes('backup_manifest') && !left.includes('backup_manifest.tmp'), `no manifest: ${left.join(', ')}`);
      } else {
        assert.ok(!existsSync(dir), 'partial output removed');
      }
      await assertServerClean();
    });
  }
});

test('a full disk (4 MB tmpfs): one error line with a hint, partial output removed', { skip }, async (t: TestContext) => {
  const mountPoint = join(work, 'tiny');
  await mkdir(mountPoint);
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
  if (mounted.status !== 0) {
    t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`);
    return;
  }
  try {
    const cases: Array<[string, string[], 'removed' | 'kept' | 'emptied']> = [
      ['plain, new directory', ['-Fp', '-X', 'stream', '-D', join(mountPoint, 'plain')], 'removed'],
      ['tar, new directory', ['-Ft', '-X', 'stream', '-D', join(mountPoint, 'tar')], 'removed'],
      ['plain --no-clean', ['-Fp', '-X', 'fetch', '--no-clean', '-D', join(mountPoint, 'kept')], 'kept'],
      ['tar into the existing, empty mount point', ['-Ft', '-X', 'fetch', '-D', mountPoint], 'emptied'],
    ];
    for (const [what, args, outcome] of cases) {
      await t.test(what, async () => {
        const dir = args[args.length - 1] as string;
        const result = await convoy(cluster, args);
        assertOneError(result, /no space left on device/i);
        assert.match(result.stderr, /^pgconvoy: hint: /m);
        if (outcome === 'removed') assert.ok(!existsSync(dir), 'partial output removed');
        if (outcome === 'emptied') assert.deepEqual(await readdir(dir), [], 'a directory that existed is emptied, not removed');
        if (outcome === 'kept') {
          const left = await readdir(dir);
          assert.ok(left.includes('PG_VERSION') && !left.includes('backup_manifest') && !left.includes('backup_manifest.tmp'), left.join(', '));
          await rm(dir, { recursive: true });
        }
        await assertServerClean();
      });
    }
    await t.test('two -D, one on the full disk: that one is removed, the other completes', async () => {
      const failing = join(mountPoint, 'fan');
      const healthy = freshDir();
      const result = await convoy(cluster, ['-Ft', '-X', 'stream', '-D', failing, '-D', healthy]);
      assert.equal(result.status, 1, result.stderr);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      const errors = lines.filter((line) => line.startsWith('pgconvoy: error: '));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0] as string, new RegExp(`backup to "${failing}" failed: .*no space left on device`, 'i'));
      assert.ok(lines.some((line) => line.startsWith(`pgconvoy: backup "pgconvoy base backup" written to "${healthy}"`)), result.stderr);
      assert.ok(!existsSync(failing));
      assert.deepEqual((await readdir(healthy)).sort(), ['backup_manifest', 'base.tar', 'pg_wal.tar']);
      await assertServerClean();
    });
  } finally {
    await run('umount', [mountPoint]);
  }
});
