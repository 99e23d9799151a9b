/** The restore module's public surface: `restoreBackup`, its options and result, and the recovery settings rules. */
export { restoreBackup, type RestoreOptions, type RestoreResult } from './restore-backup.ts';
export {
  planRecovery, pickTarget, requestsRecovery, STAGED_WAL_DIR, STAGED_RESTORE_COMMAND,
  type RecoveryRequest, type RecoveryTarget, type RecoveryPlan, type TargetAction, type SignalFile,
} from './recovery-settings.ts';
export { parseBackupLabel, parseTablespaceMap, type BackupLabel, type TablespaceMapEntry } from './backup-files.ts';
export type { TablespacePlacement } from './plain-copy.ts';
export type { StagedWal } from './wal-staging.ts';
