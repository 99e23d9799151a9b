/**
 * Collects the result sets of one simple-query cycle: RowDescription, DataRow*, CommandComplete. Values stay
 * raw (views of frame bytes) until a caller converts them, because TIMELINE_HISTORY content is file bytes,
 * not text. A CommandComplete without a RowDescription (e.g. DROP_REPLICATION_SLOT) still closes a set.
 */
import { ProtocolError } from '../errors/index.ts';
import type { BackendMessage, FieldDescription } from '../protocol/messages.ts';

export interface ResultSet {
  readonly fields: readonly FieldDescription[];
  readonly rows: ReadonlyArray<ReadonlyArray<Buffer | null>>;
  readonly tag: string;
}

export class ResultCollector {
  readonly results: ResultSet[] = [];
  #fields: readonly FieldDescription[] | null = null;
  #rows: Array<ReadonlyArray<Buffer | null>> = [];

  /** Takes the message if it belongs to a result set; returns the set it completed, if any. */
  accept(message: BackendMessage): { consumed: boolean; completed?: ResultSet } {
    switch (message.type) {
      case 'RowDescription':
        this.#fields = message.fields;
        this.#rows = [];
        return { consumed: true };
      case 'DataRow':
        if (this.#fields === null) {
          throw new ProtocolError('UNEXPECTED_MESSAGE', 'server sent data ("D" message) without prior row description ("T" message)');
        }
        if (message.values.length !== this.#fields.length) {
          throw new ProtocolError('MALFORMED_MESSAGE', `unexpected field count in "D" message: ${message.values.length}, expected ${this.#fields.length}`);
        }
        this.#rows.push(message.values);
        return { consumed: true };
      case 'CommandComplete': {
        const completed: ResultSet = { fields: this.#fields ?? [], rows: this.#rows, tag: message.tag };
        this.results.push(completed);
        this.#fields = null;
        this.#rows = [];
        return { consumed: true, completed };
      }
      case 'EmptyQueryResponse':
        this.results.push({ fields: [], rows: [], tag: '' });
        return { consumed: true };
      default:
        return { consumed: false };
    }
  }
}

export function textOf(value: Buffer | null | undefined): string | null {
  return value === null || value === undefined ? null : value.toString('utf8');
}

/** The single row a replication command answers with; anything else is a protocol violation. */
export function singleRow(set: ResultSet | undefined, command: string, minColumns: number): ReadonlyArray<Buffer | null> {
  const row = set?.rows[0];
  if (set === undefined || set.rows.length !== 1 || row === undefined || row.length < minColumns) {
    throw new ProtocolError('MALFORMED_MESSAGE', `could not parse ${command} response: got ${set?.rows.length ?? 0} rows and ${set?.fields.length ?? 0} fields, expected 1 row and ${minColumns} or more fields`);
  }
  return row;
}
