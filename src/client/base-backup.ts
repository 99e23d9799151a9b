/**
 * BASE_BACKUP as one event stream, normalised over both wire forms (see BaseBackupEvent in types.ts):
 *   start, tablespaces, (archive, data*, progress*)*, [manifest, data*], end
 *
 * 15+: one COPY whose CopyData carry 'n'/'d'/'p'/'m' sub-messages (protocol/copy-backup.ts).
 * < 15: one COPY per tablespace, in the order of the tablespace rows, then one for the manifest; this module
 * names the archives (base.tar, <oid>.tar), appends the two zero blocks the old servers leave out, and
 * reports cumulative progress itself (at most once a second, and at each archive's end).
 *
 * Errors: an ErrorResponse before the tablespace list is "could not initiate base backup", later "error
 * during base backup"; SQLSTATE XX001 after the end position is CHECKSUM_FAILURE, thrown after 'end' (the
 * data is complete, as pg_basebackup treats it). A consumer that stops iterating early abandons the session:
 * a COPY cannot be left halfway, so the connection is destroyed and the server aborts the backup.
 */
import { AbortError, InternalError, ProtocolError, ServerError } from '../errors/index.ts';
import { decodeBackupCopyData } from '../protocol/copy-backup.ts';
import { encodeQuery } from '../protocol/encode-frontend.ts';
import { quoteLiteral } from '../protocol/replication-command.ts';
import type { BackendMessage } from '../protocol/messages.ts';
import { parseLsn } from '../util/lsn.ts';
import { ResultCollector, singleRow, textOf, type ResultSet } from './result-set.ts';
import { isFatalSeverity, type SessionChannel } from './session-channel.ts';
import type { BaseBackupEvent, TablespaceInfo } from './types.ts';

const CLIENT_TARGET = `, TARGET ${quoteLiteral('client')}`;

/**
 * A 15+ BASE_BACKUP command with the server-side target in place of `TARGET 'client'` (the command builder always
 * names the client). That item cannot occur inside a literal, where every quote is doubled, so it is found once.
 */
export function withBackupTarget(command: string, target: { readonly name: string; readonly detail?: string } | undefined): string {
  if (target === undefined) return command;
  const parts = command.split(CLIENT_TARGET);
  if (parts.length !== 2) throw new InternalError('INTERNAL_ASSERTION', 'BASE_BACKUP command without a TARGET option');
  const detail = target.detail === undefined ? '' : `, TARGET_DETAIL ${quoteLiteral(target.detail)}`;
  return parts.join(`, TARGET ${quoteLiteral(target.name)}${detail}`);
}

/** The tar end-of-archive marker: two 512-byte zero blocks. */
const TAR_TERMINATOR_BYTES = 1024;
const PROGRESS_INTERVAL_MS = 1000;

export async function* streamBaseBackup(acquire: () => SessionChannel, command: string, isNewForm: boolean): AsyncGenerator<BaseBackupEvent> {
  const channel = acquire();
  let isSettled = false;
  try {
    channel.send(encodeQuery(command));
    const decoder = isNewForm ? new NewFormDecoder() : new OldFormDecoder();
    const results = new ResultCollector();
    let tablespaces: TablespaceInfo[] | null = null;
    let error: ServerError | null = null;
    for (;;) {
      const message = await channel.next();
      if (message.type === 'ReadyForQuery') break;
      if (message.type === 'ErrorResponse') {
        const context = message.fields.code === 'XX001' ? undefined
          : tablespaces === null ? 'could not initiate base backup' : 'error during base backup';
        error = new ServerError(message.fields, context);
        if (isFatalSeverity(message.fields.severity)) throw error;
        continue;
      }
      const { consumed, completed } = results.accept(message);
      if (completed !== undefined && completed.tag === 'SELECT') {
        const index = results.results.length - 1;
        if (index === 0) yield startEvent(completed);
        else if (index === 1) {
          tablespaces = tablespaceRows(completed);
          decoder.setTablespaces(tablespaces);
          yield { type: 'tablespaces', tablespaces };
        } else if (index === 2) {
          decoder.checkComplete();
          yield endEvent(completed);
        }
      }
      if (!consumed) yield* decoder.accept(message);
    }
    channel.finish();
    isSettled = true;
    if (error !== null) throw error;
    if (results.results.length < 3) {
      throw new ProtocolError('UNEXPECTED_MESSAGE', 'base backup ended without an end position');
    }
  } catch (error) {
    if (!isSettled) channel.abandon(error);
    isSettled = true;
    throw error;
  } finally {
    if (!isSettled) channel.abandon(new AbortError('ABORTED', 'base backup abandoned before its end'));
  }
}

interface CopyDecoder {
  setTablespaces(tablespaces: readonly TablespaceInfo[]): void;
  accept(message: BackendMessage): Iterable<BaseBackupEvent>;
  checkComplete(): void;
}

class NewFormDecoder implements CopyDecoder {
  #phase: 'before' | 'copy' | 'archive' | 'manifest' | 'done' = 'before';

  setTablespaces(): void {}

  *accept(message: BackendMessage): Iterable<BaseBackupEvent> {
    if (message.type === 'CopyOutResponse' && this.#phase === 'before') {
      this.#phase = 'copy';
    } else if (message.type === 'CopyData' && this.#phase !== 'before' && this.#phase !== 'done') {
      const sub = decodeBackupCopyData(message.data);
      if (sub.type === 'new-archive') {
        if (this.#phase === 'manifest') throw invalidOrder('archives must precede manifest');
        this.#phase = 'archive';
        yield { type: 'archive', name: sub.name, location: sub.location };
      } else if (sub.type === 'data') {
        if (this.#phase === 'copy') throw invalidOrder('unexpected payload data');
        if (sub.data.length > 0) yield { type: 'data', chunk: sub.data };
      } else if (sub.type === 'progress') {
        if (this.#phase === 'manifest') throw invalidOrder('unexpected progress report after manifest');
        yield { type: 'progress', bytesDone: sub.bytesDone };
      } else {
        if (this.#phase === 'manifest') throw invalidOrder('duplicate manifest');
        this.#phase = 'manifest';
        yield { type: 'manifest' };
      }
    } else if (message.type === 'CopyDone' && this.#phase !== 'before' && this.#phase !== 'done') {
      this.#phase = 'done';
    } else {
      throw unexpectedMessage(message);
    }
  }

  checkComplete(): void {
    if (this.#phase !== 'done') throw new ProtocolError('UNEXPECTED_MESSAGE', 'end position arrived before the backup COPY ended');
  }
}

class OldFormDecoder implements CopyDecoder {
  #tablespaces: readonly TablespaceInfo[] | null = null;
  #copies = 0;
  #inCopy = false;
  #bytesDone = 0n;
  #lastProgressMs = 0;

  setTablespaces(tablespaces: readonly TablespaceInfo[]): void {
    this.#tablespaces = tablespaces;
  }

  *accept(message: BackendMessage): Iterable<BaseBackupEvent> {
    const tablespaces = this.#tablespaces;
    if (tablespaces === null) throw unexpectedMessage(message);
    const isArchive = this.#copies <= tablespaces.length; // #copies counts the current COPY once it started
    if (message.type === 'CopyOutResponse' && !this.#inCopy && this.#copies <= tablespaces.length) {
      this.#inCopy = true;
      const tablespace = tablespaces[this.#copies++];
      if (tablespace === undefined) yield { type: 'manifest' };
      else yield { type: 'archive', name: tablespace.oid === null ? 'base.tar' : `${tablespace.oid}.tar`, location: tablespace.location ?? '' };
    } else if (message.type === 'CopyData' && this.#inCopy) {
      if (message.data.length === 0) return;
      yield { type: 'data', chunk: message.data };
      if (isArchive) {
        this.#bytesDone += BigInt(message.data.length);
        const nowMs = Date.now();
        if (nowMs - this.#lastProgressMs >= PROGRESS_INTERVAL_MS) {
          this.#lastProgressMs = nowMs;
          yield { type: 'progress', bytesDone: this.#bytesDone };
        }
      }
    } else if (message.type === 'CopyDone' && this.#inCopy) {
      this.#inCopy = false;
      if (isArchive) {
        yield { type: 'data', chunk: Buffer.alloc(TAR_TERMINATOR_BYTES) };
        this.#bytesDone += BigInt(TAR_TERMINATOR_BYTES);
        yield { type: 'progress', bytesDone: this.#bytesDone };
      }
    } else {
      throw unexpectedMessage(message);
    }
  }

  checkComplete(): void {
    if (this.#inCopy || this.#tablespaces === null || this.#copies < this.#tablespaces.length) {
      throw new ProtocolError('UNEXPECTED_MESSAGE', `end position arrived after ${this.#copies} of ${this.#tablespaces?.length ?? 0} archives`);
    }
  }
}

function startEvent(set: ResultSet): BaseBackupEvent {
  const row = singleRow(set, 'BASE_BACKUP start position', 2);
  return { type: 'start', startLsn: parseLsn(requireText(row[0])), startTli: parseTimeline(row[1]) };
}

function endEvent(set: ResultSet): BaseBackupEvent {
  const row = singleRow(set, 'BASE_BACKUP end position', 2);
  return { type: 'end', endLsn: parseLsn(requireText(row[0])), endTli: parseTimeline(row[1]) };
}

function tablespaceRows(set: ResultSet): TablespaceInfo[] {
  if (set.fields.length < 3) throw new ProtocolError('MALFORMED_MESSAGE', `unexpected tablespace header: ${set.fields.length} fields, expected 3`);
  return set.rows.map((row) => {
    const oid = textOf(row[0]);
    const size = textOf(row[2]);
    if (oid !== null && !/^\d+$/.test(oid)) throw new ProtocolError('MALFORMED_MESSAGE', `invalid tablespace oid "${oid}"`);
    if (size !== null && !/^-?\d+$/.test(size)) throw new ProtocolError('MALFORMED_MESSAGE', `invalid tablespace size "${size}"`);
    return { oid: oid === null ? null : Number(oid), location: textOf(row[1]), sizeKb: size === null ? null : BigInt(size) };
  });
}

export function parseTimeline(value: Buffer | null | undefined): number {
  const text = requireText(value);
  const tli = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(tli >= 1 && tli <= 0xffffffff)) throw new ProtocolError('MALFORMED_MESSAGE', `invalid timeline "${text}"`);
  return tli;
}

function requireText(value: Buffer | null | undefined): string {
  const text = textOf(value);
  if (text === null) throw new ProtocolError('MALFORMED_MESSAGE', 'unexpected NULL in replication command result');
  return text;
}

function invalidOrder(message: string): ProtocolError {
  return new ProtocolError('COPY_SUBMESSAGE_INVALID', message);
}

function unexpectedMessage(message: BackendMessage): ProtocolError {
  return new ProtocolError('UNEXPECTED_MESSAGE', `unexpected message "${message.type}" during base backup`);
}
