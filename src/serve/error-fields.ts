/**
 * How serve's failures reach a client: as ErrorResponse fields in PostgreSQL's style. A ServerError from the
 * cluster keeps every field it had (its words, its SQLSTATE); our own errors carry their SQLSTATE in
 * `details.sqlstate` where one fits; file-system errors map as PostgreSQL's errcode_for_file_access does;
 * anything else is XX000.
 */
import { ConvoyError, FsError, ServerError, type ServerErrorFields } from '../errors/index.ts';

const FILE_ERRNO_SQLSTATE: Readonly<Record<string, string>> = {
  ENOENT: '58P01', EACCES: '42501', EPERM: '42501', ENOSPC: '53100', EDQUOT: '53100',
};

export function errorFieldsOf(error: unknown, severity: 'ERROR' | 'FATAL' = 'ERROR'): ServerErrorFields {
  if (error instanceof ServerError) {
    const isFatal = error.fields.severity === 'FATAL' || error.fields.severity === 'PANIC';
    return { ...error.fields, severity: isFatal ? error.fields.severity : severity };
  }
  if (error instanceof FsError) {
    return { severity, code: FILE_ERRNO_SQLSTATE[error.errno ?? ''] ?? '58030', message: error.message };
  }
  if (error instanceof ConvoyError) {
    const sqlstate = error.details['sqlstate'];
    const detail = error.details['detail'];
    return {
      severity, code: typeof sqlstate === 'string' ? sqlstate : 'XX000', message: error.message,
      ...(typeof detail === 'string' ? { detail } : {}),
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    };
  }
  return { severity, code: 'XX000', message: `internal error in pgconvoy serve: ${error instanceof Error ? error.message : String(error)}` };
}
