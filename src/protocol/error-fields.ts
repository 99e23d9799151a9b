/**
 * The one table of ErrorResponse / NoticeResponse field bytes and the names we give them (the names of
 * ServerErrorFields, which follow the protocol documentation). Unknown field bytes are skipped, as the
 * protocol asks of clients, so newer servers can add fields.
 */
import type { ServerErrorFields } from '../errors/index.ts';

type FieldName = keyof ServerErrorFields;

export const ERROR_FIELDS: ReadonlyMap<number, FieldName> = new Map<number, FieldName>([
  [0x53, 'severity'], // S (localized)
  [0x43, 'code'], // C (SQLSTATE)
  [0x4d, 'message'], // M
  [0x44, 'detail'], // D
  [0x48, 'hint'], // H
  [0x50, 'position'], // P
  [0x57, 'where'], // W
  [0x73, 'schema'], // s
  [0x74, 'table'], // t
  [0x63, 'column'], // c
  [0x64, 'dataType'], // d
  [0x6e, 'constraint'], // n
  [0x46, 'file'], // F
  [0x4c, 'line'], // L
  [0x52, 'routine'], // R
]);

/** V: the severity never localized (9.6+); preferred over S because code compares it. */
export const NONLOCALIZED_SEVERITY_FIELD = 0x56;
