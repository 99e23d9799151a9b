/** The verify module's public surface: `verifyBackup` and its report. */
export { verifyBackup, type VerifyOptions } from './verify-backup.ts';
export type { VerifyReport, VerifyProblem, VerifyProblemCode, VerifyWalRangeResult } from './report.ts';
