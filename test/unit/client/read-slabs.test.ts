import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { slabReads } from '../../../src/client/read-slabs.ts';

let dir: string;
let server: Server;
let path: string;
/** What the next accepted connection is sent, in pieces of these sizes, then the connection is ended. */
let script: { data: Buffer; pieces: number[] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'read-slabs-'));
  path = join(dir, 'socket');
  server = createServer((peer) => {
    const { data, pieces } = script;
    let at = 0;
    const sendNext = (): void => {
      if (at >= data.length) {
        peer.end();
        return;
      }
      const size = pieces[Math.floor(at / 7) % pieces.length] as number;
      const piece = data.subarray(at, at + size);
      at += piece.length;
      if (peer.write(piece)) setImmediate(sendNext);
      else peer.once('drain', sendNext);
    };
    sendNext();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): Socket {
  const onread = slabReads(() => socket);
  const socket: Socket = connect({ path, onread });
  return socket;
}

/** Every chunk the socket emitted, kept until the end, and the reason it ended. */
function collect(socket: Socket, onChunk?: (chunk: Buffer) => void): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      onChunk?.(chunk);
    });
    socket.on('end', () => resolve(chunks));
    socket.on('error', reject);
  });
}

test('chunks kept to the end still hold what was sent: a later read never writes over an earlier chunk', async () => {
  script = { data: randomBytes(5 * 1024 * 1024 + 123), pieces: [1, 70_000, 4096, 300_000, 17] };
  const chunks = await collect(open());
  assert.ok(chunks.length > 1);
  assert.ok(Buffer.concat(chunks).equals(script.data));
});

test('a stream larger than a slab is read into several slabs, no chunk larger than one', async () => {
  script = { data: randomBytes(3 * 1024 * 1024), pieces: [256 * 1024] };
  const chunks = await collect(open());
  const slabs = new Set(chunks.map((chunk) => chunk.buffer));
  assert.ok(slabs.size >= 3, `${slabs.size} slabs for 3 MiB`);
  for (const chunk of chunks) assert.ok(chunk.length > 0 && chunk.length <= 1024 * 1024);
  assert.ok(Buffer.concat(chunks).equals(script.data));
});

test('pause() stops the data until resume(), and nothing is lost across it', async () => {
  script = { data: randomBytes(2 * 1024 * 1024), pieces: [32 * 1024 + 5] };
  const socket = open();
  let isPaused = false;
  let whilePaused = 0;
  let seen = 0;
  const chunks = await collect(socket, () => {
    if (isPaused) whilePaused += 1;
    if (!isPaused && ++seen % 5 === 0) {
      isPaused = true;
      socket.pause();
      setTimeout(() => {
        isPaused = false;
        socket.resume();
      }, 2);
    }
  });
  assert.equal(whilePaused, 0);
  assert.ok(Buffer.concat(chunks).equals(script.data));
});
