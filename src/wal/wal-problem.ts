/**
 * What WAL verification reports: one problem per finding, with the segment file and LSN it concerns. Inside the
 * walker a problem travels as a VerifyError (code WAL_INVALID) carrying it, so deep checks can stop the walk
 * with one throw; verifyWalRange turns it back into a list entry. Only problems found in the data travel this
 * way; a source that cannot be read at all fails the whole verification with its own error.
 */
import { VerifyError } from '../errors/index.ts';
import type { Lsn } from '../util/lsn.ts';

export type WalProblemCode =
  | 'WAL_SEGMENT_MISSING'
  | 'WAL_SEGMENT_SIZE'
  | 'WAL_PAGE_HEADER'
  /** A long header names another database system than expected. */
  | 'WAL_SYSTEM_ID_MISMATCH'
  /** A page is on a timeline the range (or backup_label) does not allow. */
  | 'WAL_TIMELINE_MISMATCH'
  | 'WAL_RECORD_INVALID'
  | 'WAL_CRC_MISMATCH'
  | 'WAL_ENDS_EARLY';

export interface WalProblem {
  readonly code: WalProblemCode;
  readonly lsn?: Lsn;
  readonly file?: string;
  readonly message: string;
}

export function walProblemError(problem: WalProblem): VerifyError {
  return new VerifyError('WAL_INVALID', problem.message, { details: { problem } });
}

export function problemOf(error: unknown): WalProblem | null {
  if (!(error instanceof VerifyError) || error.code !== 'WAL_INVALID') return null;
  return (error.details['problem'] as WalProblem | undefined) ?? null;
}
