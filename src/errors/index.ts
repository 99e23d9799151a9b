export { ERROR_CODES, type ErrorCode, type ErrorFamily } from './codes.ts';
export {
  ConvoyError, UsageError, ConnectionError, ProtocolError, TarError, VerifyError, RecoveryError, AbortError,
  InternalError, invariant, type ConvoyErrorOptions,
} from './convoy-error.ts';
export { ServerError, type ServerErrorFields } from './server-error.ts';
export { FsError, fsError } from './fs-error.ts';
