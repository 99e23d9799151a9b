/**
 * The verdict of a drill, as plain JSON-able data (LSNs as text, durations in seconds): each stage that ran,
 * what it measured, and the first failure, named. `ok` is true only if every stage ran and passed.
 */
import type { AmcheckOutcome } from './amcheck-sql.ts';
import type { CheckResult } from './user-checks.ts';

export type DrillStage = 'restore' | 'start' | 'amcheck' | 'checks';

export interface DrillRecovery {
  /** From starting the postmaster to the log's "consistent recovery state reached"; null if not logged. */
  readonly secondsToConsistency: number | null;
  readonly consistentLsn: string | null;
  /** From starting the postmaster until it accepted connections (recovery done, end-of-recovery checkpoint). */
  readonly secondsToReady: number;
  /** Backup start (backup_label's START WAL LOCATION) to the start of the last record replayed ("redo done at"). */
  readonly replayStartLsn: string | null;
  readonly replayEndLsn: string | null;
  readonly walReplayedBytes: number | null;
  readonly timeline: number | null;
}

export interface DrillReport {
  readonly ok: boolean;
  readonly backupDir: string;
  readonly format: 'plain' | 'tar' | null;
  readonly major: number | null;
  readonly bindir: string | null;
  readonly scratchDir: string;
  readonly kept: boolean;
  readonly verify: { readonly files: number; readonly bytes: number; readonly seconds: number } | null;
  readonly restoreSeconds: number | null;
  readonly recovery: DrillRecovery | null;
  readonly amcheck: AmcheckOutcome | null;
  readonly checks: readonly CheckResult[];
  /** The stage that failed and why, with the server's own words where it has them. */
  readonly failure: { readonly stage: DrillStage; readonly message: string; readonly detail: readonly string[] } | null;
  readonly notes: readonly string[];
  readonly seconds: number;
}
