import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { ConvoyError } from '../../../src/errors/index.ts';
import { registerVerify, successLine } from '../../../src/cli/commands/verify.ts';
import type { VerifyReport } from '../../../src/verify/index.ts';
import { plainBackup, sampleFiles } from './backup-builder.ts';

/** `pgconvoy verify ...` on a program of its own (independent of the registry in commands/index.ts). */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let status = 0;
  const program = new Command('pgconvoy').exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  registerVerify(program, { stdout, stderr, env: {}, signal: new AbortController().signal, setExitStatus: (code) => (status = code) });
  try {
    await program.parseAsync(['verify', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof ConvoyError)) throw error;
    err += `pgconvoy: error: ${error.message}\n`;
    status = 1;
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { status, stdout: out, stderr: err };
}

test('a whole backup: the summary line, exit status 0', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  const result = await run(['-n', root]);
  assert.equal(result.status, 0);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /^backup successfully verified \(9 files, [0-9.]+ kB, WAL not checked, [0-9.]+s\)\n$/);
  assert.deepEqual(await run(['-n', '-q', root]), { status: 0, stdout: '', stderr: '' });
});

test('problems: one "pgconvoy: error:" line each, exit status 1', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'extra'), 'x');
  await unlink(join(root, 'PG_VERSION'));
  const result = await run(['--no-parse-wal', root]);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'pgconvoy: error: "extra" is present on disk but not in the manifest\n' +
    'pgconvoy: error: "PG_VERSION" is present in the manifest but not on disk\n');
  const first = await run(['-n', '-e', root]);
  assert.equal(first.stderr.split('\n').length, 2);
});

test('--json prints the report as one object on stdout', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'base/5/16385'), Buffer.alloc(8192));
  const result = await run(['--json', '-n', '-i', 'base/5/16384', root]);
  assert.equal(result.status, 1);
  assert.equal(result.stderr, '');
  const report = JSON.parse(result.stdout) as VerifyReport;
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((problem) => [problem.code, problem.path]), [['FILE_CHECKSUM_MISMATCH', 'base/5/16385']]);
  assert.equal(result.stdout.trim().split('\n').length, 1);
});

test('-s, -m, and -P with -q is refused', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'base/5/16385'), Buffer.alloc(8192));
  assert.equal((await run(['-n', '-s', root])).status, 0);
  assert.equal((await run(['-n', '-m', join(root, 'nope'), root])).status, 1);
  const conflict = await run(['-P', '-q', root]);
  assert.equal(conflict.status, 1);
  assert.match(conflict.stderr, /cannot specify both -P\/--progress and -q\/--quiet/);
  const progress = await run(['-n', '-P', '-s', root]);
  assert.equal(progress.status, 0);
});

test('the summary line names the WAL ranges checked', () => {
  const report: VerifyReport = {
    ok: true, format: 'plain', problems: [], filesChecked: 977, bytesChecked: 336860543, seconds: 0.4567,
    walRanges: [{ tli: 1, startLsn: '0/2000028', endLsn: '0/2000100', segmentBytes: 16 << 20, segments: [], recordsChecked: 3, checked: true, ok: true }],
  };
  assert.equal(successLine(report), 'backup successfully verified (977 files, 321.3 MB, WAL 0/2000028..0/2000100 on timeline 1, 0.46s)');
});
