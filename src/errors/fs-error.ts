/**
 * File-system failures, keeping Node's errno code, path and syscall. ENOSPC and EDQUOT become DISK_FULL with a
 * hint, because "no space left" is the failure operators most need to recognise at a glance.
 */
import { ConvoyError } from './convoy-error.ts';

export class FsError extends ConvoyError {
  readonly errno: string | undefined;
  readonly path: string | undefined;

  constructor(message: string, cause: NodeJS.ErrnoException) {
    const isFull = cause.code === 'ENOSPC' || cause.code === 'EDQUOT';
    super(isFull ? 'DISK_FULL' : 'FS_ERROR', message, {
      cause,
      ...(isFull ? { hint: 'Check free disk space.' } : {}),
      details: { errno: cause.code, path: cause.path, syscall: cause.syscall },
    });
    this.errno = cause.code;
    this.path = cause.path;
  }
}

/** Wraps a Node file-system rejection as FsError: `could not <action> "<path>": <reason>`. */
export function fsError(action: string, path: string, cause: unknown): FsError | unknown {
  const errno = cause as NodeJS.ErrnoException;
  if (typeof errno?.code !== 'string') return cause;
  // Node writes "ENOSPC: no space left on device, write" or "ENOENT: ..., open '/x'": keep only the reason.
  const reason = errno.message.replace(/^[A-Z]+: /, '').replace(/, [a-z]+( '.*')?$/, '');
  return new FsError(`could not ${action} "${path}": ${reason}`, errno);
}
