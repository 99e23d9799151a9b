/**
 * Small value parsers for backup options, with pg_basebackup's rules and messages:
 * `-r/--max-rate` (kB/s, suffix k or M, 32 kB/s .. 1024 MB/s) and `-T/--tablespace-mapping` (OLDDIR=NEWDIR,
 * both absolute, `\=` for a literal '=').
 */
import { isAbsolute, normalize } from 'node:path';
import { UsageError } from '../errors/index.ts';

export const MIN_MAX_RATE_KBPS = 32;
export const MAX_MAX_RATE_KBPS = 1024 * 1024;

export function parseMaxRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(text);
  if (match === null) throw new UsageError('OPTION_INVALID', `transfer rate "${text}" is not a valid value`);
  const value = Number(match[1]) * (match[2]?.toLowerCase() === 'm' ? 1024 : 1);
  const kbps = Math.floor(value);
  if (kbps === 0) throw new UsageError('OPTION_OUT_OF_RANGE', `transfer rate must be greater than zero`);
  if (kbps < MIN_MAX_RATE_KBPS || kbps > MAX_MAX_RATE_KBPS) {
    throw new UsageError('OPTION_OUT_OF_RANGE',
      `transfer rate "${text}" is out of range`, { hint: 'Valid values are 32 kB/s to 1024 MB/s.' });
  }
  return kbps;
}

export interface TablespaceMapping {
  readonly oldDir: string;
  readonly newDir: string;
}

export function parseTablespaceMapping(text: string): TablespaceMapping {
  let oldDir = '';
  let newDir = '';
  let seenEquals = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && text[i + 1] === '=') {
      (seenEquals ? (newDir += '=') : (oldDir += '='));
      i++;
    } else if (char === '=') {
      if (seenEquals) throw new UsageError('OPTION_INVALID', 'multiple "=" signs in tablespace mapping');
      seenEquals = true;
    } else if (seenEquals) {
      newDir += char;
    } else {
      oldDir += char;
    }
  }
  if (!seenEquals || oldDir === '' || newDir === '') {
    throw new UsageError('OPTION_INVALID', `invalid tablespace mapping format "${text}", must be "OLDDIR=NEWDIR"`);
  }
  if (!isAbsolute(oldDir)) throw new UsageError('OPTION_INVALID', `old directory is not an absolute path in tablespace mapping: ${oldDir}`);
  if (!isAbsolute(newDir)) throw new UsageError('OPTION_INVALID', `new directory is not an absolute path in tablespace mapping: ${newDir}`);
  return { oldDir: canonical(oldDir), newDir: canonical(newDir) };
}

/** As PostgreSQL's canonicalize_path: normalised, without a trailing slash, so mappings compare exactly. */
function canonical(path: string): string {
  const normalized = normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}
