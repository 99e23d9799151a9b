/** The drill module's public surface: `runDrill` and its report. */
export { runDrill, type DrillOptions, type AmcheckMode } from './run-drill.ts';
export type { DrillReport, DrillRecovery, DrillStage } from './report.ts';
export type { AmcheckOutcome } from './amcheck-sql.ts';
export type { CheckResult } from './user-checks.ts';
export { readRecoveryEvents, failureLines, type RecoveryEvents } from './server-log.ts';
export { judgeRows } from './user-checks.ts';
