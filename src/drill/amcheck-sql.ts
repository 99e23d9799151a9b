/**
 * amcheck through SQL, for when no pg_amcheck of the server's major (or newer) is installed: in every database,
 * CREATE EXTENSION amcheck, then verify_heapam (amcheck 1.3, PostgreSQL 14+) on every table, materialized view
 * and TOAST table, and bt_index_check on every valid btree index. One statement per relation, so a failure
 * names its relation and file, and the checks go on after it (an ERROR in one statement leaves the session
 * usable). Temporary relations of other sessions cannot be checked and are skipped, as pg_amcheck does.
 *
 * heapallindexed (off by default) also proves every heap tuple has its index entry; it costs a full heap scan
 * per index, bounded by maintenance_work_mem for its Bloom filter.
 */
import { connect } from '../client/connection.ts';
import type { ConnectionParams } from '../client/types.ts';
import { ConvoyError } from '../errors/index.ts';

export interface AmcheckOutcome {
  readonly ok: boolean;
  readonly method: 'pg_amcheck' | 'sql';
  /** pg_amcheck's path, or null for SQL. */
  readonly tool: string | null;
  readonly databases: number;
  /** Relations checked (SQL only; pg_amcheck does not say). */
  readonly relationsChecked: number | null;
  readonly failures: readonly string[];
  readonly seconds: number;
}

const FAILURES_MAX = 50;
const ROWS_PER_RELATION = 5;

const RELATIONS_SQL = `
SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_relation_filepath(c.oid)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_am a ON a.oid = c.relam
 WHERE c.relpersistence <> 't'
   AND (c.relkind IN ('r', 'm', 't') OR (c.relkind = 'i' AND a.amname = 'btree' AND i.indisvalid AND i.indisready))
 ORDER BY c.oid`;

export async function runSqlAmcheck(
  paramsFor: (database: string) => ConnectionParams, databases: readonly string[], opts: { heapallindexed: boolean },
): Promise<AmcheckOutcome> {
  const started = performance.now();
  const failures: string[] = [];
  const fail = (text: string): void => {
    if (failures.length < FAILURES_MAX) failures.push(text);
  };
  let relationsChecked = 0;
  for (const database of databases) {
    const session = await connect(paramsFor(database));
    try {
      try {
        await session.query('CREATE EXTENSION IF NOT EXISTS amcheck');
      } catch (error) {
        fail(`database "${database}": could not create extension "amcheck": ${messageOf(error)}`);
        continue;
      }
      const [[heapCount] = []] = await session.query("SELECT count(*) FROM pg_proc WHERE proname = 'verify_heapam'");
      const hasHeapCheck = Number(heapCount) > 0;
      for (const [oid, relkind, name, file] of await session.query(RELATIONS_SQL)) {
        const isIndex = relkind === 'i';
        if (!isIndex && !hasHeapCheck) continue;
        const where = `${isIndex ? 'index' : 'relation'} ${name} in database "${database}" (file "${file}")`;
        const sql = isIndex
          ? `SELECT bt_index_check(${oid}::regclass, ${opts.heapallindexed ? 'true' : 'false'})`
          : `SELECT blkno, offnum, attnum, msg FROM verify_heapam(${oid}::regclass, false, ${relkind === 't' ? 'false' : 'true'}) LIMIT ${ROWS_PER_RELATION}`;
        relationsChecked += 1;
        try {
          const rows = await session.query(sql);
          if (isIndex) continue;
          for (const [blkno, offnum, attnum, msg] of rows) {
            fail(`${where}, block ${blkno}${offnum === null ? '' : `, offset ${offnum}`}${attnum === null ? '' : `, attribute ${attnum}`}: ${msg}`);
          }
        } catch (error) {
          fail(`${where}: ${messageOf(error)}`);
        }
      }
    } finally {
      await session.close();
    }
  }
  return {
    ok: failures.length === 0, method: 'sql', tool: null, databases: databases.length, relationsChecked, failures,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

function messageOf(error: unknown): string {
  if (error instanceof ConvoyError && error.family === 'server') return error.message;
  throw error;
}
