/**
 * Matches what a backup holds (files on disk, members of archives) against the manifest, the same way for
 * both formats: extra files, size mismatches, then, once everything was seen, the files that never showed
 * up. Per-file state is one byte per manifest entry (seen or not), indexed by ManifestFile.index, so the
 * manifest's own entries stay immutable and small.
 */
import { displayPath } from '../manifest/byte-path.ts';
import type { BackupManifest, ManifestFile } from '../manifest/reader.ts';
import type { IgnoreList } from './ignore.ts';
import { messages, type ProblemList, type VerifyProblem } from './report.ts';


export class FileMatcher {
  readonly #manifest: BackupManifest;
  readonly #ignore: IgnoreList;
  readonly #problems: ProblemList;
  readonly #seen: Uint8Array;
  #matchedCount = 0;

  constructor(manifest: BackupManifest, ignore: IgnoreList, problems: ProblemList) {
    this.#manifest = manifest;
    this.#ignore = ignore;
    this.#problems = problems;
    this.#seen = new Uint8Array(manifest.files.size);
  }

  get matchedCount(): number {
    return this.#matchedCount;
  }

  /**
   * A file of `size` bytes at manifest path `path` (byte string). Returns its manifest entry when its
   * content should be checksummed, null otherwise (extra, wrong size, duplicate, or no checksum).
   */
  match(path: string, size: number): ManifestFile | null {
    const entry = this.#manifest.files.get(path);
    const shown = displayPath(path);
    if (entry === undefined) {
      this.#problems.add({ code: 'FILE_EXTRA', path: shown, message: messages.extra(shown) });
      return null;
    }
    if (this.#seen[entry.index] === 1) {
      this.#problems.add({ code: 'FILE_DUPLICATE', path: shown, message: `"${shown}" is present more than once in the backup` });
      return null;
    }
    this.#seen[entry.index] = 1;
    this.#matchedCount++;
    if (entry.size !== size) {
      this.#problems.add({
        code: 'FILE_SIZE_MISMATCH', path: shown, message: messages.size(shown, size, entry.size),
        expected: entry.size, actual: size,
      });
      return null;
    }
    return entry.algorithm === 'NONE' ? null : entry;
  }

  /** Compares a computed checksum (lowercase hex) with the manifest's, reporting a mismatch. */
  checkDigest(path: string, entry: ManifestFile, actual: string): void {
    const problem = digestProblem(displayPath(path), entry, actual);
    if (problem !== null) this.#problems.add(problem);
  }

  /** After the whole backup was seen: manifest entries never matched and not ignored. */
  reportMissing(): void {
    for (const [path, entry] of this.#manifest.files) {
      if (this.#seen[entry.index] === 1 || this.#ignore.matches(path)) continue;
      const shown = displayPath(path);
      this.#problems.add({ code: 'FILE_MISSING', path: shown, message: messages.missing(shown) });
    }
  }
}

/** The problem with a file whose content digests to `actual`, or null when it matches the manifest. */
export function digestProblem(shown: string, entry: ManifestFile, actual: string): VerifyProblem | null {
  if (actual.length !== entry.checksum.length) {
    return {
      code: 'FILE_CHECKSUM_MISMATCH', path: shown,
      message: messages.checksumLength(shown, entry.checksum.length / 2, actual.length / 2), expected: entry.checksum, actual,
    };
  }
  if (actual === entry.checksum) return null;
  return { code: 'FILE_CHECKSUM_MISMATCH', path: shown, message: messages.checksum(shown), expected: entry.checksum, actual };
}
