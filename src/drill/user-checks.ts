/**
 * The user's own checks (`--check SQL`, repeatable), run in order on one connection to the restored cluster.
 * A check passes when it runs without error and, if it returns exactly one row of one column holding a
 * boolean, that value is true (a single NULL fails too). Any other result (rows of counts, no rows, a DO block)
 * passes by running.
 *
 * Limitation: the client returns values as text without column types, so "a boolean" means PostgreSQL's text
 * form of one, 't' or 'f'; a text column holding exactly 'f' would count as false.
 */
import type { ReplicationSession } from '../client/types.ts';
import { ConvoyError } from '../errors/index.ts';

export interface CheckResult {
  readonly sql: string;
  readonly ok: boolean;
  /** The single value, when the check returned one row of one column. */
  readonly value: string | null;
  readonly rows: number;
  readonly error: string | null;
}

export function judgeRows(sql: string, rows: ReadonlyArray<ReadonlyArray<string | null>>): CheckResult {
  const isSingle = rows.length === 1 && rows[0]?.length === 1;
  const value = isSingle ? rows[0]?.[0] ?? null : null;
  // A lone NULL is what a boolean comparison over missing data gives (NULL = NULL): not true, so not passed.
  const error = !isSingle ? null : value === 'f' ? 'returned false' : value === null ? 'returned NULL' : null;
  return { sql, ok: error === null, value, rows: rows.length, error };
}

export async function runUserChecks(session: ReplicationSession, checks: readonly string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const sql of checks) {
    try {
      results.push(judgeRows(sql, await session.query(sql)));
    } catch (error) {
      if (!(error instanceof ConvoyError) || error.family !== 'server') throw error;
      results.push({ sql, ok: false, value: null, rows: 0, error: error.message });
    }
  }
  return results;
}
