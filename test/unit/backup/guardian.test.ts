/**
 * The guardian as real processes, no PostgreSQL: a parent spawns it and is SIGKILLed; the guardian must send the
 * CancelRequest (checked byte for byte against a hand-built vector, on a fake server) and remove the destination.
 * After `done` it must do neither. Also the guardian's input lines, byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { orderLine } from '../../../src/backup/guardian.ts';

const GUARDIAN_URL = new URL('../../../src/backup/guardian.ts', import.meta.url).href;
const root = await mkdtemp(join(tmpdir(), 'pgconvoy-guardian-spawn-'));
after(() => rm(root, { recursive: true, force: true }));

test('orders are one line each, strings in hex', () => {
  assert.equal(orderLine({ type: 'server', host: '/tmp', port: 5432, noClean: false }), 'server 2f746d70 5432 0\n');
  assert.equal(orderLine({ type: 'session', key: { processId: 4242, secretKey: Buffer.from('deadbeef', 'hex') } }), 'session 4242 deadbeef\n');
  assert.equal(orderLine({ type: 'creating', dir: '/b k' }), 'creating 2f62206b\n');
  assert.equal(orderLine({ type: 'dir', claim: { dir: '/b k', backupDir: '/b k', wasCreated: true } }), 'dir 1 2f62206b 2f62206b\n');
  assert.equal(orderLine({ type: 'done' }), 'done\n');
});

/** A TCP server that records every connection's bytes (a CancelRequest is one packet, then the peer closes). */
async function fakeServer(): Promise<{ server: Server; port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      received.push(Buffer.concat(chunks));
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

/** A parent process that starts the guardian, tells it one session, then either dies by SIGKILL or says done. */
async function runParent(port: number, dir: string, ending: 'SIGKILL' | 'done', creating: readonly string[] = []): Promise<void> {
  const code = `
    const { spawnGuardian } = await import(${JSON.stringify(GUARDIAN_URL)});
    const guardian = spawnGuardian({ host: '127.0.0.1', port: ${port}, noClean: false },
      (message) => { console.error(message); process.exit(3); });
    for (const path of ${JSON.stringify(creating)}) guardian.addCreating(path);
    guardian.addDestination({ dir: ${JSON.stringify(dir)}, backupDir: ${JSON.stringify(dir)}, wasCreated: true });
    guardian.addSession({ processId: 4242, secretKey: Buffer.from('deadbeef', 'hex') });
    if (${JSON.stringify(ending)} === 'done') await guardian.done();
    else process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (s, g) => resolve([s, g])));
  if (ending === 'SIGKILL') assert.equal(signal, 'SIGKILL');
  else assert.equal(status, 0);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!condition()) {
    if (Date.now() - startedAt > timeoutMs) return -1;
    await sleep(20);
  }
  return Date.now() - startedAt;
}

test('parent SIGKILLed: the guardian sends the CancelRequest and removes the destination', { timeout: 30_000 }, async () => {
  const { server, port, received } = await fakeServer();
  try {
    const dir = join(root, 'killed');
    await mkdir(join(dir, 'base'), { recursive: true });
    await writeFile(join(dir, 'backup_manifest.tmp'), '{');
    await runParent(port, dir, 'SIGKILL');
    const tookMs = await waitUntil(() => received.length > 0 && !existsSync(dir), 10_000);
    assert.ok(tookMs >= 0, `cancel received: ${received.length}, dir still there: ${existsSync(dir)}`);
    // length 16, CancelRequest code 80877102, process id 4242, secret key
    assert.deepEqual(received, [Buffer.from('00000010' + '04d2162e' + '00001092' + 'deadbeef', 'hex')]);
  } finally {
    server.close();
  }
});

test('parent says done: the guardian exits without cancelling or removing anything', { timeout: 30_000 }, async () => {
  const { server, port, received } = await fakeServer();
  try {
    const dir = join(root, 'finished');
    await mkdir(join(dir, 'base'), { recursive: true });
    await runParent(port, dir, 'done');
    await sleep(1500); // long enough for a guardian that wrongly acted (the SIGKILL case takes well under that)
    assert.deepEqual(received, []);
    assert.equal(existsSync(join(dir, 'base')), true);
  } finally {
    server.close();
  }
});

test('parent SIGKILLed while creating directories: the empty ones go, the others stay', { timeout: 30_000 }, async () => {
  const { server, port, received } = await fakeServer();
  try {
    const claimed = join(root, 'claimed');
    const empty = join(root, 'made-not-claimed');
    const holding = join(root, 'made-by-someone-else');
    const never = join(root, 'never-made');
    await mkdir(claimed);
    await mkdir(empty);
    await mkdir(holding);
    await writeFile(join(holding, 'pgconvoy.lock'), '');
    // `claimed` was announced as being created too: its dir order supersedes that, and it is removed as claimed.
    await runParent(port, claimed, 'SIGKILL', [claimed, empty, holding, never]);
    const tookMs = await waitUntil(() => received.length > 0 && !existsSync(claimed) && !existsSync(empty), 10_000);
    assert.ok(tookMs >= 0, `claimed still there: ${existsSync(claimed)}, empty still there: ${existsSync(empty)}`);
    assert.equal(existsSync(join(holding, 'pgconvoy.lock')), true);
    assert.equal(existsSync(never), false);
  } finally {
    server.close();
  }
});
