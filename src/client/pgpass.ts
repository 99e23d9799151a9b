/**
 * Password file lookup as libpq does it: lines `host:port:database:user:password`, `*` matches anything in
 * the first four fields, `\:` and `\\` escape, `#` starts a comment line, the first matching line wins. A
 * Unix-socket host matches the name `localhost`. A file readable by group or others is ignored with libpq's
 * warning, because a password file others can read protects nothing.
 */
import { readFileSync, statSync } from 'node:fs';

export interface PgpassKey {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Password from `path`, or undefined when the file is absent, unsafe or has no matching line. */
export function lookupPgpass(path: string, key: PgpassKey, onWarning: (message: string) => void): string | undefined {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      onWarning(`password file "${path}" is not a plain file`);
      return undefined;
    }
    mode = stat.mode;
  } catch {
    return undefined; // a missing password file is normal
  }
  if ((mode & 0o077) !== 0) {
    onWarning(`password file "${path}" has group or world access; permissions should be u=rw (0600) or less`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return findPgpassPassword(text, key);
}

export function findPgpassPassword(text: string, key: PgpassKey): string | undefined {
  const wanted = [key.host.startsWith('/') || key.host === '' ? 'localhost' : key.host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitPgpassLine(line);
    if (fields.length < 5) continue;
    const matches = wanted.every((value, index) => {
      const field = fields[index] as PgpassField;
      return field.isWildcard || field.value === value;
    });
    if (matches) return (fields[4] as PgpassField).value;
  }
  return undefined;
}

interface PgpassField {
  readonly value: string;
  readonly isWildcard: boolean; // an unescaped lone "*"; an escaped one is a literal star
}

/** Splits at unescaped colons; like libpq, the password ends at the next unescaped colon too. */
function splitPgpassLine(line: string): PgpassField[] {
  const fields: PgpassField[] = [];
  let value = '';
  let raw = '';
  for (let at = 0; at <= line.length; at++) {
    const char = line[at];
    if (char === undefined || char === ':') {
      fields.push({ value, isWildcard: raw === '*' });
      value = '';
      raw = '';
    } else if (char === '\\' && at + 1 < line.length) {
      raw += char + line[at + 1];
      value += line[++at];
    } else {
      raw += char;
      value += char;
    }
  }
  return fields;
}
