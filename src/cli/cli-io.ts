/**
 * What a command needs from the process, passed in so commands can be driven from tests and from `demo`.
 * Commands report failure by throwing a ConvoyError (exit status 1); a command whose work ran but found a
 * problem (verify, drill) calls setExitStatus instead, after printing its report.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM; commands pass it down to every connection and stage. */
  readonly signal: AbortSignal;
  setExitStatus(status: number): void;
}
