/**
 * -P before the first byte: while the server runs its start checkpoint the view says "waiting for checkpoint", as
 * pg_basebackup does: a line of its own in a log, a carriage return on a terminal so that the bar replaces it.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createProgressView } from '../../../src/cli/progress-view.ts';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

test('not a terminal: "waiting for checkpoint" on its own line, before the progress lines', async () => {
  const { stream, text } = capture(false);
  const view = createProgressView(stream, 'pgconvoy');
  view.waitingForCheckpoint();
  view.start(2048n);
  view.update(2048n, 'base.tar');
  view.stop();
  await new Promise((resolve) => setImmediate(resolve));
  const lines = text().split('\n');
  assert.equal(lines[0], 'waiting for checkpoint');
  assert.match(lines[1] as string, /^pgconvoy: 2\.0 kB of 2\.0 kB \(100%\), /);
});

test('a terminal: "waiting for checkpoint" ends in a carriage return, so the bar overwrites it', async () => {
  const { stream, text } = capture(true);
  createProgressView(stream, 'pgconvoy').waitingForCheckpoint();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(text(), 'waiting for checkpoint\r');
});
