import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { AbortError, ConnectionError } from '../../../src/errors/index.ts';
import { LoginDeadline } from '../../../src/serve/login-deadline.ts';

test('the deadline fires after its time, with authentication timeout as the reason', async () => {
  const deadline = new LoginDeadline(20, new AbortController().signal);
  await once(deadline.signal, 'abort');
  assert.ok(deadline.signal.reason instanceof ConnectionError);
  assert.equal(deadline.signal.reason.code, 'CONNECT_TIMEOUT');
  assert.match(deadline.signal.reason.message, /canceling authentication due to timeout/);
});

test('the deadline fires even when nothing else holds its signal (no garbage-collected timeout)', async () => {
  let fired = false;
  new LoginDeadline(30, new AbortController().signal).signal.addEventListener('abort', () => { fired = true; });
  if (typeof globalThis.gc === 'function') globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(fired, true);
});

test('serve shutting down ends the wait at once, with 57P01 as the reason', () => {
  const shutdown = new AbortController();
  const deadline = new LoginDeadline(60_000, shutdown.signal);
  shutdown.abort();
  assert.ok(deadline.signal.reason instanceof AbortError);
  assert.equal(deadline.signal.reason.details['sqlstate'], '57P01');
  deadline.clear();
});

test('an already shut down serve gives an already aborted deadline', () => {
  const shutdown = new AbortController();
  shutdown.abort();
  const deadline = new LoginDeadline(60_000, shutdown.signal);
  assert.equal(deadline.signal.aborted, true);
  deadline.clear();
});

test('clear() stops both the timer and the shutdown from aborting', async () => {
  const shutdown = new AbortController();
  const deadline = new LoginDeadline(20, shutdown.signal);
  deadline.clear();
  deadline.clear();
  shutdown.abort();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(deadline.signal.aborted, false);
});
