/**
 * What the `pgconvoy backup` integration tests need around the harness: running the CLI (also with its stdout
 * going to a file, for `-D -`), the CLI's error-output rule, a mode walk, an independent tar member listing
 * (a tiny header walk here, not src/tar, so the code under test is not its own witness), restoring tar backups
 * that carry tablespace archives, and the real pg_verifybackup on plain or extracted tar backups.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { toolPath } from '../../../src/cluster/binaries.ts';
import { chownForServer } from '../../../src/cluster/os-user.ts';
import { REPO_ROOT, restoreAndStart, runCli, tmpDir, type CliResult, type LocalCluster, type TestCluster } from '../harness.ts';
import { extractTarBackup, run, type ToolRun } from '../verify/tools.ts';

export { run } from '../verify/tools.ts';

/** Connection and checkpoint options every backup here uses (trust for "postgres" on 127.0.0.1). */
export function connArgs(cluster: LocalCluster): string[] {
  return ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-c', 'fast'];
}

export async function convoy(cluster: LocalCluster, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCli(['backup', ...connArgs(cluster), ...args], { timeoutMs: 180_000, ...opts });
}

/** A backup that must succeed; returns the CLI result for further checks. */
export async function convoyOk(cluster: LocalCluster, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const result = await convoy(cluster, args, opts);
  assert.equal(result.status, 0, `pgconvoy backup ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
}

/**
 * `pgconvoy backup ... -D -` with stdout going straight to `outPath` (runCli decodes stdout as text, which
 * would mangle a tar), stdin closed.
 */
export function convoyToFile(cluster: LocalCluster, args: string[], outPath: string): Promise<{ status: number | null; stderr: string }> {
  const out = createWriteStream(outPath);
  return new Promise((resolveRun, reject) => {
    out.once('open', (fd) => {
      const env = { ...process.env };
      delete env['NODE_TEST_CONTEXT'];
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${REPO_ROOT}src/cli/main.ts`, 'backup', ...connArgs(cluster), ...args], {
        cwd: REPO_ROOT, env, stdio: ['ignore', fd, 'pipe'], timeout: 180_000, killSignal: 'SIGKILL',
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      child.once('error', reject);
      child.once('close', (status) => out.close(() => resolveRun({ status, stderr })));
    });
    out.once('error', reject);
  });
}

/**
 * The CLI's failure rule: exit status 1, nothing on stdout, exactly one `pgconvoy: error:` line, and otherwise
 * only `detail:` / `hint:` lines. Returns the error line.
 */
export function assertOneError(result: { status: number | null; stdout?: string; stderr: string }, pattern?: RegExp): string {
  const context = `stderr was:\n${result.stderr}`;
  assert.equal(result.status, 1, context);
  if (result.stdout !== undefined) assert.equal(result.stdout, '', 'nothing on stdout after a failure');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  const errors = lines.filter((line) => line.startsWith('pgconvoy: error: '));
  assert.equal(errors.length, 1, context);
  for (const line of lines) assert.match(line, /^pgconvoy: (error|detail|hint): \S/, context);
  const error = errors[0] as string;
  assert.doesNotMatch(error, /internal error|\n|\s{2}at /, context);
  if (pattern !== undefined) assert.match(error, pattern, context);
  return error;
}

export interface TreeEntry { readonly path: string; readonly type: 'file' | 'dir' | 'symlink'; readonly mode: number; readonly target?: string }

/** Every entry below `root` (symlinks not followed), sorted by path. */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const stat = await lstat(path);
      const rel = relative(root, path);
      if (stat.isSymbolicLink()) entries.push({ path: rel, type: 'symlink', mode: stat.mode & 0o7777, target: await readlink(path) });
      else if (stat.isDirectory()) {
        entries.push({ path: rel, type: 'dir', mode: stat.mode & 0o7777 });
        await walk(path);
      } else entries.push({ path: rel, type: 'file', mode: stat.mode & 0o7777 });
    }
  };
  await walk(root);
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** pg_basebackup's modes with the default data_directory_mode: directories 0700, files 0600. */
export async function assertModes(root: string): Promise<void> {
  const rootMode = (await lstat(root)).mode & 0o7777;
  assert.equal(rootMode.toString(8), '700', `mode of ${root}`);
  const wrong = (await walkTree(root)).filter((entry) =>
    (entry.type === 'dir' && entry.mode !== 0o700) || (entry.type === 'file' && entry.mode !== 0o600));
  assert.deepEqual(wrong.map((entry) => `${entry.path} ${entry.mode.toString(8)}`), [], `modes below ${root}`);
}

export interface TarMember { readonly name: string; readonly type: string; readonly mode: number; readonly size: number; readonly linkname: string }

/** Members of a tar file (optionally .gz), read with a minimal ustar walk of its own. */
export async function tarMembers(path: string): Promise<TarMember[]> {
  let bytes = await readFile(path);
  if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  const field = (block: Buffer, at: number, length: number): string => block.subarray(at, at + length).toString('latin1').replace(/\0.*$/s, '');
  const octal = (block: Buffer, at: number, length: number): number => Number.parseInt(field(block, at, length).trim() || '0', 8);
  const members: TarMember[] = [];
  for (let at = 0; at + 512 <= bytes.length;) {
    const block = bytes.subarray(at, at + 512);
    if (block.every((byte) => byte === 0)) break;
    const size = octal(block, 124, 12);
    members.push({
      name: field(block, 0, 100).replace(/^\.\//, '').replace(/\/$/, ''),
      type: field(block, 156, 1) || '0',
      mode: octal(block, 100, 8),
      size,
      linkname: field(block, 157, 100),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

/** A member's content, through GNU tar. */
export async function tarMemberText(tarPath: string, member: string): Promise<string> {
  const result = await run('tar', [...(tarPath.endsWith('.gz') ? ['-z'] : []), '-xOf', tarPath, member]);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** The real pg_verifybackup of the cluster's major (or a newer one); null when none is installed. */
export function verifybackupTool(cluster: TestCluster): string | null {
  return toolPath(cluster.install, 'pg_verifybackup');
}

/**
 * The real pg_verifybackup on a plain backup, or on a tar backup extracted with GNU tar (pg_verifybackup 15
 * reads plain backups only). `parseWal` false adds -n.
 */
export async function pgVerify(cluster: TestCluster, dir: string, opts: { tar: boolean; parseWal: boolean }): Promise<ToolRun> {
  const tool = verifybackupTool(cluster);
  assert.ok(tool !== null, 'pg_verifybackup is not installed');
  let target = dir;
  if (opts.tar) {
    target = join(await tmpDir('verify-extract'), 'data');
    assert.ok(await extractTarBackup(dir, target), `GNU tar could not extract ${dir}`);
  }
  const result = await run(tool, [...(opts.parseWal ? [] : ['-n']), target]);
  if (opts.tar) await rm(target, { recursive: true, force: true });
  assert.equal(result.status, 0, `pg_verifybackup ${dir}:\n${result.stderr}${result.stdout}`);
  return result;
}

/**
 * Starts a real postgres on a tar backup, tablespace archives included: base.tar and pg_wal.tar extracted as
 * restoreAndStart does, each <oid>.tar into a fresh directory, and tablespace_map rewritten to point there (the
 * original locations belong to the live cluster). Plain backups and tar backups without tablespaces go
 * straight to restoreAndStart; `tablespaceDirs` are made reachable for the server user first.
 */
export async function restoreBackup(dir: string, cluster: TestCluster, opts: { tar: boolean; tablespaceDirs?: string[] } = { tar: false }): Promise<LocalCluster> {
  for (const tablespaceDir of opts.tablespaceDirs ?? []) await chownForServer(tablespaceDir, { recursive: true });
  const names = opts.tar ? await readdir(dir) : [];
  const tablespaceTars = names.filter((name) => /^\d+\.tar(\.gz)?$/.test(name));
  if (!opts.tar || tablespaceTars.length === 0) return restoreAndStart(dir, cluster.install);
  const root = await tmpDir('restore-ts');
  const dataDir = join(root, 'data');
  const gz = (name: string): string[] => (name.endsWith('.gz') ? ['-z'] : []);
  const untar = async (archive: string, into: string): Promise<void> => {
    const result = await run('tar', [...gz(archive), '-xf', join(dir, archive), '-C', into]);
    assert.equal(result.status, 0, result.stderr);
  };
  await mkdir(join(dataDir, 'pg_wal'), { recursive: true });
  const base = names.find((name) => /^base\.tar(\.gz)?$/.test(name));
  assert.ok(base !== undefined, `no base.tar in ${dir}`);
  await untar(base, dataDir);
  const wal = names.find((name) => /^pg_wal\.tar(\.gz)?$/.test(name));
  if (wal !== undefined) await untar(wal, join(dataDir, 'pg_wal'));
  const mapPath = join(dataDir, 'tablespace_map');
  let map = existsSync(mapPath) ? await readFile(mapPath, 'utf8') : '';
  for (const archive of tablespaceTars) {
    const oid = archive.split('.')[0] as string;
    const location = join(root, `ts-${oid}`);
    await mkdir(location);
    await untar(archive, location);
    const lines = map.split('\n');
    const index = lines.findIndex((line) => line.startsWith(`${oid} `));
    assert.ok(index >= 0, `tablespace_map has no line for ${oid}:\n${map}`);
    lines[index] = `${oid} ${location}`;
    map = lines.join('\n');
  }
  await writeFile(mapPath, map);
  await chownForServer(root, { recursive: true });
  return restoreAndStart(dataDir, cluster.install);
}
