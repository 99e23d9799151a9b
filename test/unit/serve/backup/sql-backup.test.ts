import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartGate } from '../../../../src/serve/backup/sql-backup.ts';

test('StartGate runs one start at a time, in arrival order', async () => {
  const gate = new StartGate();
  const order: string[] = [];
  const work = (name: string, ms: number) => gate.run(async () => {
    order.push(`${name} in`);
    await sleep(ms);
    order.push(`${name} out`);
  });
  await Promise.all([work('a', 20), work('b', 1), work('c', 1)]);
  assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
});

test('settle waits while an arrived backup is still starting, and not at all when none is', async () => {
  const gate = new StartGate();
  await gate.settle(10_000); // nobody arrived: at once
  const leaveFirst = gate.arrive();
  const leaveSecond = gate.arrive();
  leaveFirst();
  let settled = false;
  const waiting = gate.settle(10_000).then(() => { settled = true; });
  await sleep(20);
  assert.equal(settled, false, 'the second backup has not started yet');
  leaveSecond();
  leaveSecond(); // leaving twice (started, then its finally) counts once
  await waiting;
  assert.equal(settled, true);
  await gate.settle(10_000);
});

test('settle is bounded: a backup that never finishes starting holds the others back only maxMs', async () => {
  const gate = new StartGate();
  gate.arrive();
  const started = performance.now();
  await gate.settle(30);
  assert.ok(performance.now() - started >= 25);
});
