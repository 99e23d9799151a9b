/**
 * The base of every error pgconvoy raises on purpose. Messages follow PostgreSQL's style: lower-case start, no
 * trailing period, names in double quotes. `hint` is a separate sentence shown on its own line, like errhint.
 * `details` is for machines (JSON output, tests); secrets never go there.
 */
import { ERROR_CODES, type ErrorCode, type ErrorFamily } from './codes.ts';

export interface ConvoyErrorOptions {
  readonly cause?: unknown;
  readonly hint?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export class ConvoyError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: ConvoyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get family(): ErrorFamily {
    return ERROR_CODES[this.code];
  }
}

/** Bad command line or option values; exit status 1 without touching anything. */
export class UsageError extends ConvoyError {}
/** Socket, TLS and authentication failures. */
export class ConnectionError extends ConvoyError {}
/** The peer sent bytes that do not follow the protocol. `details` holds type byte, length, offset. */
export class ProtocolError extends ConvoyError {}
/** Tar codec failures. */
export class TarError extends ConvoyError {}
/** Verification found the backup incomplete or damaged. */
export class VerifyError extends ConvoyError {}
/** A restored cluster did not start or recover. */
export class RecoveryError extends ConvoyError {}
/** The operation was cancelled (signal, user, a sibling failure). */
export class AbortError extends ConvoyError {}
/** A broken invariant: a bug in pgconvoy, never bad input. */
export class InternalError extends ConvoyError {}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InternalError('INTERNAL_ASSERTION', message);
}
