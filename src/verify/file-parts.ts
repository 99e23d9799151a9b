/**
 * Splits large CRC32C files into parts that the checksum pool's lanes hash independently, and puts each
 * file's outcome back together from its parts' CRCs (crc32cCombine). Without it the biggest relation segment
 * (1 GiB) is one lane's work alone while the others finish early and wait. SHA-2 state cannot be combined,
 * so SHA files stay whole.
 *
 * A file of at least two parts' worth is cut into parts of PART_BYTES; the last part takes the remainder and
 * reads to end of file, so a file that grew is still noticed; one that shrank reads short in some part.
 */
import { crc32cHex } from '../manifest/checksum.ts';
import { crc32cCombine } from '../util/crc32c.ts';
import type { HashJob, HashOutcome } from './file-hasher.ts';

export const PART_BYTES = 64 << 20;

/** The jobs with every large CRC32C file replaced by its parts, and an assembler for their outcomes. */
export function splitIntoParts(jobs: readonly HashJob[], partBytes = PART_BYTES): { jobs: HashJob[]; assembler: PartAssembler } {
  const out: HashJob[] = [];
  const partCounts = new Map<number, number>();
  for (const job of jobs) {
    const count = job.algorithm === 'CRC32C' ? Math.floor(job.size / partBytes) : 0;
    if (count < 2) {
      out.push(job);
      continue;
    }
    partCounts.set(job.index, count);
    for (let n = 0; n < count; n++) {
      const offset = n * partBytes;
      const last = n === count - 1;
      out.push({ ...job, size: last ? job.size - offset : partBytes, part: { offset, last } });
    }
  }
  return { jobs: out, assembler: new PartAssembler(partCounts) };
}

export class PartAssembler {
  readonly #expected: ReadonlyMap<number, number>;
  readonly #arrived = new Map<number, HashOutcome[]>();

  constructor(partCounts: ReadonlyMap<number, number>) {
    this.#expected = partCounts;
  }

  /** A whole file's outcome: at once for an unsplit file, with its last part to arrive for a split one; else null. */
  add(outcome: HashOutcome): HashOutcome | null {
    if (outcome.part === undefined) return outcome;
    const parts = this.#arrived.get(outcome.index) ?? [];
    parts.push(outcome);
    if (parts.length < (this.#expected.get(outcome.index) ?? 1)) {
      this.#arrived.set(outcome.index, parts);
      return null;
    }
    this.#arrived.delete(outcome.index);
    parts.sort((a, b) => (a.part?.offset ?? 0) - (b.part?.offset ?? 0));
    const bytesRead = parts.reduce((sum, part) => sum + part.bytesRead, 0);
    const failure = parts.find((part) => part.error !== null);
    if (failure !== undefined) return { index: outcome.index, bytesRead, checksum: null, error: failure.error };
    const crc = parts.reduce((sum, part) => crc32cCombine(sum, part.part?.crc ?? 0, part.bytesRead), 0);
    return { index: outcome.index, bytesRead, checksum: crc32cHex(crc), error: null };
  }
}
