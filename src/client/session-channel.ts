/**
 * What a long-running command (BASE_BACKUP, START_REPLICATION) gets from its connection: exclusive use of the
 * message stream until `finish()` at ReadyForQuery, or `abandon(error)` when the protocol state can no longer
 * be recovered (the connection is then destroyed). NoticeResponse and ParameterStatus never reach it.
 */
import type { BackendMessage } from '../protocol/messages.ts';

export interface SessionChannel {
  readonly serverVersionNum: number;
  next(): Promise<BackendMessage>;
  send(frame: Buffer): void;
  finish(): void;
  abandon(error: unknown): void;
}

/** ErrorResponse severities after which the server closes the connection: no ReadyForQuery will come. */
export function isFatalSeverity(severity: string): boolean {
  return severity === 'FATAL' || severity === 'PANIC';
}
