/**
 * The verdict of `verify`: every problem found, named (which file, what was expected), plus what was checked.
 * The report is plain JSON-able data (LSNs as text) because `--json` prints it as is.
 *
 * Problems are collected, not thrown: a backup with ten damaged files gets ten lines, as pg_verifybackup does.
 * With exitOnError the first problem stops the run through StopVerification, which verifyBackup catches.
 * Messages mirror pg_verifybackup's where it has one.
 */
import type { WalProblemCode } from '../wal/index.ts';

export type VerifyProblemCode =
  | 'MANIFEST_INVALID'
  | 'SYSTEM_ID_MISMATCH'
  | 'FILE_EXTRA'
  | 'FILE_MISSING'
  | 'FILE_SIZE_MISMATCH'
  | 'FILE_CHECKSUM_MISMATCH'
  | 'FILE_UNREADABLE'
  | 'FILE_NOT_REGULAR'
  | 'FILE_DUPLICATE'
  | 'ARCHIVE_UNEXPECTED'
  | 'ARCHIVE_INVALID'
  | 'WAL_INVALID'
  | WalProblemCode;

export interface VerifyProblem {
  readonly code: VerifyProblemCode;
  /** Relative path as in the manifest (or the archive / WAL file concerned), for display. */
  readonly path?: string;
  readonly message: string;
  readonly expected?: string | number;
  readonly actual?: string | number;
}

export interface VerifyWalRangeResult {
  readonly tli: number;
  readonly startLsn: string;
  readonly endLsn: string;
  readonly segmentBytes: number;
  readonly segments: string[];
  readonly recordsChecked: number;
  /** False when WAL checking was skipped (-n) or could not start. */
  readonly checked: boolean;
  readonly ok: boolean;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly format: 'plain' | 'tar';
  readonly problems: VerifyProblem[];
  /** Manifest files found and examined (size, and checksum unless skipped). */
  readonly filesChecked: number;
  /** Bytes read and checksummed. */
  readonly bytesChecked: number;
  readonly walRanges: VerifyWalRangeResult[];
  readonly seconds: number;
}

/** Thrown (and caught by verifyBackup) to stop at the first problem under exitOnError. */
export class StopVerification extends Error {
  constructor() {
    super('verification stopped at the first problem');
  }
}

export class ProblemList {
  readonly #exitOnError: boolean;
  readonly items: VerifyProblem[] = [];

  constructor(exitOnError: boolean) {
    this.#exitOnError = exitOnError;
  }

  add(problem: VerifyProblem): void {
    this.items.push(problem);
    if (this.#exitOnError) throw new StopVerification();
  }

  get count(): number {
    return this.items.length;
  }
}

/** The system's reason from a Node error, without Node's "ENOENT: " prefix and ", open '<path>'" suffix. */
export function errorReason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/^[A-Z]+: /, '').replace(/, [a-z]+ '.*'$/, '');
}

export const messages = {
  extra: (path: string): string => `"${path}" is present on disk but not in the manifest`,
  missing: (path: string): string => `"${path}" is present in the manifest but not on disk`,
  size: (path: string, actual: number, expected: number): string =>
    `"${path}" has size ${actual} on disk but size ${expected} in the manifest`,
  checksum: (path: string): string => `checksum mismatch for file "${path}"`,
  checksumLength: (path: string, actual: number, expected: number): string =>
    `file "${path}" has checksum of length ${actual}, but expected ${expected}`,
  shortRead: (path: string, expected: number, actual: number): string =>
    `file "${path}" should contain ${expected} bytes, but read ${actual}`,
  notRegular: (path: string): string => `"${path}" is not a regular file or directory`,
};
