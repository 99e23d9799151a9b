import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrontendType as F } from '../../../src/protocol/codes.ts';
import { ReadyLedger } from '../../../src/serve/ready-ledger.ts';

function relayAll(ledger: ReadyLedger, frames: ReadonlyArray<number | [number, boolean]>): ReadyLedger {
  for (const frame of frames) {
    if (typeof frame === 'number') ledger.relayed(frame);
    else ledger.relayed(frame[0], frame[1]);
  }
  return ledger;
}

test('a Query owes one ReadyForQuery, answered() says when nothing more is owed', () => {
  const ledger = relayAll(new ReadyLedger(), [F.Query, F.Query]);
  assert.equal(ledger.owed, 2);
  assert.equal(ledger.answered(), false);
  assert.equal(ledger.answered(), true);
  assert.equal(ledger.answered(), true, 'an unsolicited ReadyForQuery does not go below zero');
  assert.equal(ledger.owed, 0);
});

test('an extended-protocol frame owes nothing and the walsender discards everything, Query included, until Sync', () => {
  for (const refused of [F.Parse, F.Bind, F.Execute, F.Describe, F.Close]) {
    const ledger = relayAll(new ReadyLedger(), [refused]);
    assert.equal(ledger.owed, 0);
    assert.equal(ledger.isSkippingTillSync, true);
    relayAll(ledger, [F.Query, F.Parse, F.FunctionCall, F.Flush]);
    assert.equal(ledger.owed, 0, 'discarded frames get no answer');
    ledger.relayed(F.Sync);
    assert.equal(ledger.isSkippingTillSync, false);
    assert.equal(ledger.owed, 1, 'the Sync that ends the skipping is answered');
    ledger.relayed(F.Query);
    assert.equal(ledger.owed, 2);
  }
});

test('Sync and FunctionCall each owe one; Flush and stray copy frames owe nothing', () => {
  const ledger = relayAll(new ReadyLedger(), [F.Sync, F.FunctionCall, F.Flush, F.CopyData, F.CopyDone, F.CopyFail]);
  assert.equal(ledger.owed, 2);
  assert.equal(ledger.isSkippingTillSync, false);
});

test('during a relayed COPY FROM STDIN, Flush and Sync are ignored until CopyDone or CopyFail', () => {
  for (const end of [F.CopyDone, F.CopyFail]) {
    const ledger = relayAll(new ReadyLedger(), [[F.Query, true], F.CopyData, F.Sync, F.Flush, F.CopyData, end]);
    assert.equal(ledger.owed, 1, 'only the Query that opened the copy');
    relayAll(ledger, [F.Sync]);
    assert.equal(ledger.owed, 2, 'after the copy, Sync is answered again');
  }
});

test('a frame that does not belong in a copy ends it without an answer of its own', () => {
  const ledger = relayAll(new ReadyLedger(), [[F.Query, true], F.Query]);
  assert.equal(ledger.owed, 1);
  relayAll(ledger, [F.Parse]);
  assert.equal(ledger.isSkippingTillSync, true, 'the copy is over: extended-protocol frames are refused again');
});
