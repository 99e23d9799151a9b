/**
 * The CLI's own words, through main() as `pgconvoy` runs it (no server: every case here ends before a backup could
 * start, or at a refused connection): the unknown-option hint names the subcommand's help, for each subcommand; a
 * readable password file is warned about once, as "pgconvoy: warning:" (not "warning: WARNING:"); `-D` naming a
 * regular file says "Not a directory"; a label with a control character is refused with a hint.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { freePort } from '../../../src/cluster/free-port.ts';
import { main } from '../../../src/cli/main.ts';
import { COMMANDS } from '../../../src/cli/commands/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const status = await main(argv, { stdout, stderr, env, signal: new AbortController().signal, setExitStatus: () => {} });
  await new Promise((resolve) => setImmediate(resolve));
  return { status, stdout: out, stderr: err };
}

/** Connection options that reach nothing (a port just seen free), with a password so nothing prompts. */
async function nowhere(): Promise<string[]> {
  return ['-h', '127.0.0.1', '-p', String(await freePort()), '-U', 'nobody', '-w'];
}

test('an unknown option: the hint names that subcommand\'s --help, for every subcommand', async () => {
  for (const [name] of COMMANDS) {
    const result = await run([name, '--bogus']);
    assert.equal(result.status, 1, name);
    assert.equal(result.stdout, '', name);
    // The error is commander's (a subcommand with a required option names that one first); the hint is ours.
    assert.match(result.stderr, new RegExp(`^pgconvoy: error: .*\npgconvoy: hint: Try "pgconvoy ${name} --help" for more information\\.\n$`), name);
  }
  assert.equal((await run(['backup', '--bogus'])).stderr,
    'pgconvoy: error: unknown option \'--bogus\'\npgconvoy: hint: Try "pgconvoy backup --help" for more information.\n');
  assert.equal((await run(['verify'])).stderr,
    'pgconvoy: error: missing required argument \'dir\'\npgconvoy: hint: Try "pgconvoy verify --help" for more information.\n');
  for (const argv of [['--bogus'], ['bogus']]) {
    assert.match((await run(argv)).stderr, /\npgconvoy: hint: Try "pgconvoy --help" for more information\.\n$/, argv.join(' '));
  }
});

test('a password file others can read: one "pgconvoy: warning:" line, its password not used', async () => {
  const passfile = join(dir, 'pgpass');
  writeFileSync(passfile, '*:*:*:*:leaked\n');
  chmodSync(passfile, 0o644);
  const result = await run(['backup', '-D', join(dir, 'never'), ...(await nowhere())], { PGPASSFILE: passfile });
  assert.equal(result.status, 1);
  const lines = result.stderr.split('\n');
  assert.equal(lines[0], `pgconvoy: warning: password file "${passfile}" has group or world access; permissions should be u=rw (0600) or less`);
  assert.doesNotMatch(result.stderr, /WARNING/);
  assert.match(lines[1] ?? '', /^pgconvoy: error: connection to server at "127\.0\.0\.1", port \d+ failed/);
});

test('-D naming a regular file: "Not a directory", before connecting', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  const result = await run(['backup', '-D', file, ...(await nowhere())]);
  assert.equal(result.status, 1);
  assert.equal(result.stderr, `pgconvoy: error: could not access directory "${file}": Not a directory\n`);
});

test('a label with a control character is refused on one line, with a hint', async () => {
  for (const label of ['two\nlines', 'tab\there', 'escape\u001b[2J']) {
    const result = await run(['backup', '-D', join(dir, 'never'), '-l', label, ...(await nowhere())]);
    assert.equal(result.status, 1);
    const lines = result.stderr.split('\n');
    assert.equal(lines.length, 3, JSON.stringify(result.stderr));
    assert.match(lines[0] as string, /^pgconvoy: error: invalid backup label ".*": it contains a control character$/);
    assert.match(lines[1] as string, /^pgconvoy: hint: /);
  }
});
