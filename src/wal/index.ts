/** The WAL module's public surface: range verification for `verify`, and a directory source for plain backups. */
export {
  verifyWalRange, walSegmentsFor, describeWalRange, type WalRangeReport, type VerifyWalRangeOptions,
} from './verify-wal-range.ts';
export type { WalSegmentSource } from './segment-window.ts';
export type { WalProblem, WalProblemCode } from './wal-problem.ts';
export { walDirectorySource } from './directory-source.ts';
export { WAL_VERSIONS, walVersionOf, type WalVersion } from './wal-format.ts';
