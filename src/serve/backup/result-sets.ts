/**
 * The result sets BASE_BACKUP sends besides the COPY: the start and end positions (`recptr` text, `tli` int8) and
 * the tablespace list (`spcoid` oid, `spclocation` text, `size` int8, main directory last with NULLs), each
 * closed by CommandComplete "SELECT". Their RowDescription is hand-built up to 16 and comes from a tuple
 * descriptor later (version table): clients ignore the difference, but it costs nothing to match.
 */
import type { FieldDescription } from '../../protocol/messages.ts';
import { encodeCommandComplete, encodeDataRow, encodeRowDescription } from '../../protocol/encode-backend.ts';
import { formatLsn, type Lsn } from '../../util/lsn.ts';
import type { PgVersionRules } from '../../util/pg-versions.ts';

const TYPE_OID = { int8: 20, text: 25, oid: 26 } as const;

export interface TablespaceRow {
  readonly oid: number | null;
  readonly location: string | null;
  readonly sizeKb: bigint | null;
}

export function positionResultSet(lsn: Lsn, tli: number, rules: PgVersionRules): Buffer[] {
  const isTupleDesc = rules.resultSetShape === 'tuple-descriptor';
  return [
    encodeRowDescription([
      field('recptr', TYPE_OID.text, -1, isTupleDesc ? -1 : 0),
      field('tli', TYPE_OID.int8, isTupleDesc ? 8 : -1, isTupleDesc ? -1 : 0),
    ]),
    encodeDataRow([formatLsn(lsn), String(tli)]),
    encodeCommandComplete('SELECT'),
  ];
}

export function tablespaceResultSet(rows: readonly TablespaceRow[]): Buffer[] {
  return [
    encodeRowDescription([
      field('spcoid', TYPE_OID.oid, 4, -1), field('spclocation', TYPE_OID.text, -1, -1), field('size', TYPE_OID.int8, 8, -1),
    ]),
    ...rows.map((row) => encodeDataRow([
      row.oid === null ? null : String(row.oid), row.location, row.sizeKb === null ? null : String(row.sizeKb),
    ])),
    encodeCommandComplete('SELECT'),
  ];
}

function field(name: string, typeOid: number, typeSize: number, typeModifier: number): FieldDescription {
  return { name, tableOid: 0, columnNumber: 0, typeOid, typeSize, typeModifier, format: 0 };
}
