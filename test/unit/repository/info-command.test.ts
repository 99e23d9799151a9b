import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Command } from 'commander';
import { registerInfo } from '../../../src/cli/commands/info.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { claimRepository } from '../../../src/repository/repository.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

const SEG = 16 * 1024 * 1024;

/** `pgconvoy info ...` on a program of its own; a thrown ConvoyError is reported with its code. */
async function run(args: string[]): Promise<{ status: number; stdout: string; code?: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let status = 0;
  const program = new Command('pgconvoy').exitOverride();
  registerInfo(program, { stdout, stderr: new PassThrough(), env: {}, signal: new AbortController().signal, setExitStatus: (code) => (status = code) });
  try {
    await program.parseAsync(['info', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof ConvoyError)) throw error;
    return { status: 1, stdout: out, code: error.code };
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { status, stdout: out };
}

async function repository(walNames: string[]): Promise<string> {
  const storage = new LocalStorage(await scratchDir('info'));
  await claimRepository(storage, { systemId: '7349163894263526621', walSegmentBytes: SEG });
  for (const name of walNames) await storage.put(`wal/${name}`, Buffer.alloc(0));
  return storage.location;
}

test('a continuous archive: range, timelines, the segment in progress; exit status 0', async () => {
  const repo = await repository(['000000010000000000000002', '000000010000000000000003', '000000010000000000000004.partial',
    '000000020000000000000004', '00000002.history', '000000020000000000000005.partial']);
  const json = await run(['--repo', repo, '--json']);
  assert.equal(json.status, 0);
  assert.deepEqual(JSON.parse(json.stdout), {
    repository: repo, systemId: '7349163894263526621', walSegmentBytes: SEG,
    wal: {
      segments: 3, firstSegment: '000000010000000000000002', lastSegment: '000000020000000000000004',
      startLsn: '0/2000000', endLsn: '0/5000000', timelines: [1, 2], inProgress: '000000020000000000000005.partial', gaps: [],
    },
  });
  const text = await run(['--repo', repo]);
  assert.equal(text.stdout, `repository "${repo}": system 7349163894263526621, WAL segments of 16.0 MB\n` +
    'WAL archive: 000000010000000000000002 to 000000020000000000000004 (3 segments, 0/2000000..0/5000000, timelines 1, 2)\n' +
    '  in progress: 000000020000000000000005.partial\n  no gaps\n');
});

test('a gap is listed and makes the exit status 1', async () => {
  const repo = await repository(['000000010000000000000002', '000000010000000000000006']);
  const result = await run(['--repo', repo]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /\n {2}gap: 000000010000000000000003 to 000000010000000000000005 \(3 segments missing\)\n$/);
});

test('an empty repository says so; a directory that is not one is REPOSITORY_INVALID', async () => {
  const empty = await run(['--repo', await repository([])]);
  assert.equal(empty.status, 0);
  assert.match(empty.stdout, /\nWAL archive: no completed segment yet\n$/);
  assert.deepEqual(await run(['--repo', await scratchDir('not-a-repo')]), { status: 1, stdout: '', code: 'REPOSITORY_INVALID' });
});
