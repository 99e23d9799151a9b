/**
 * The per-file checksum algorithms a backup manifest can name, as incremental digesters that produce the
 * manifest's text form (lowercase hex). SHA-2 goes through node:crypto (OpenSSL); CRC-32C through
 * src/util/crc32c.ts, the project's only CRC-32C.
 *
 * CRC32C quirk: PostgreSQL hex-encodes the 4 bytes of the CRC as they sit in its memory, i.e. little-endian on
 * every platform it has been observed on, so CRC-32C 0xE3069283 is written "839206e3". We always write and
 * expect that order (a big-endian server would differ; none was observed).
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '../util/crc32c.ts';

export const CHECKSUM_ALGORITHMS = ['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Length in bytes of each algorithm's digest (hex text is twice as long). */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  NONE: 0, CRC32C: 4, SHA224: 28, SHA256: 32, SHA384: 48, SHA512: 64,
};

export interface Digester {
  update(bytes: Uint8Array, start?: number, end?: number): void;
  /** Lowercase hex as the manifest spells it; '' for NONE. Call once. */
  finish(): string;
  /** An independent digester in the same state: a backup that leaves a shared read mid-file continues alone. */
  clone(): Digester;
}

/** Case-insensitive, as PostgreSQL's pg_checksum_parse_type; null when unknown. */
export function parseChecksumAlgorithm(name: string): ChecksumAlgorithm | null {
  const upper = name.toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper) ? (upper as ChecksumAlgorithm) : null;
}

export function createDigester(algorithm: ChecksumAlgorithm): Digester {
  switch (algorithm) {
    case 'NONE':
      return NONE_DIGESTER;
    case 'CRC32C':
      return new Crc32cDigester();
    default:
      return new ShaDigester(createHash(algorithm.toLowerCase()));
  }
}

/** One-shot convenience for tests and small inputs. */
export function checksumHex(algorithm: ChecksumAlgorithm, bytes: Uint8Array): string {
  const digester = createDigester(algorithm);
  digester.update(bytes);
  return digester.finish();
}

/** A CRC-32C value in the manifest's text form (see the quirk above). */
export function crc32cHex(crc: number): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(crc >>> 0);
  return out.toString('hex');
}

const NONE_DIGESTER: Digester = { update: () => {}, finish: () => '', clone: () => NONE_DIGESTER };

class Crc32cDigester implements Digester {
  #crc: number;

  constructor(crc = 0) {
    this.#crc = crc;
  }

  update(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.#crc = crc32c(bytes, this.#crc, start, end);
  }

  finish(): string {
    return crc32cHex(this.#crc);
  }

  clone(): Digester {
    return new Crc32cDigester(this.#crc);
  }
}

class ShaDigester implements Digester {
  readonly #hash: Hash;

  constructor(hash: Hash) {
    this.#hash = hash;
  }

  update(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.#hash.update(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  }

  finish(): string {
    return this.#hash.digest('hex');
  }

  clone(): Digester {
    return new ShaDigester(this.#hash.copy());
  }
}
