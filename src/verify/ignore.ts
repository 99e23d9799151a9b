/**
 * Paths verification skips, with pg_verifybackup's rule: an entry matches itself and everything below it
 * ("aa/bb" covers "aa/bb/cc" but not "aa/bbb"). The defaults are what pg_verifybackup always ignores: files
 * that legitimately differ from the manifest after pg_basebackup -R or restore preparation, the manifest
 * itself, and pg_wal (checked by the WAL stage instead). Paths are byte strings (manifest/byte-path.ts).
 */
import { toBytePath } from '../manifest/byte-path.ts';

export const DEFAULT_IGNORED = ['backup_manifest', 'pg_wal', 'postgresql.auto.conf', 'recovery.signal', 'standby.signal'];

export class IgnoreList {
  readonly #paths: string[];

  constructor(extra: readonly string[] = []) {
    this.#paths = [...DEFAULT_IGNORED, ...extra.map((path) => toBytePath(path.replace(/\/+$/, '')))];
  }

  /** Stop reporting anything at or below `path` (after a directory could not be read, say). */
  add(path: string): void {
    this.#paths.push(path);
  }

  matches(path: string): boolean {
    for (const ignored of this.#paths) {
      if (path.startsWith(ignored) && (path.length === ignored.length || path.charCodeAt(ignored.length) === 0x2f)) {
        return true;
      }
    }
    return false;
  }
}
