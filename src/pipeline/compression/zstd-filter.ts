/**
 * zstd through zstd-napi's low-level streaming binding (ZSTD_compressStream2 / ZSTD_decompressStream). Node 20's
 * zlib has no zstd. The binding is synchronous: each call does at most one output buffer's worth of work on the
 * main thread, and every output is awaited downstream before the next call, which keeps memory to one buffer.
 *
 * Only the level is configurable; worker threads and long-distance matching are not offered here.
 */
import { createRequire } from 'node:module';
import type { ByteFilter, Emit } from './filter.ts';
import { ProtocolError } from '../../errors/index.ts';

type ZstdBinding = typeof import('zstd-napi/binding.js');

interface Zstd {
  readonly binding: ZstdBinding;
  /** ZSTD_CStreamOutSize and ZSTD_DStreamOutSize: output buffer sizes that always make progress */
  readonly compressOutBytes: number;
  readonly decompressOutBytes: number;
}

let loaded: Zstd | null = null;

/** Loaded by the first zstd filter: a native library of a few MB that a run without zstd never maps. */
function zstd(): Zstd {
  if (loaded === null) {
    const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;
    loaded = { binding, compressOutBytes: binding.cStreamOutSize(), decompressOutBytes: binding.dStreamOutSize() };
  }
  return loaded;
}

export function createZstdCompressFilter(level?: number): ByteFilter {
  return new ZstdCompressFilter(level);
}

export function createZstdDecompressFilter(): ByteFilter {
  return new ZstdDecompressFilter();
}

class ZstdCompressFilter implements ByteFilter {
  readonly #zstd = zstd();
  #context: InstanceType<ZstdBinding['CCtx']> | null = new this.#zstd.binding.CCtx();

  constructor(level: number | undefined) {
    if (level !== undefined) this.#context?.setParameter(this.#zstd.binding.CParameter.compressionLevel, level);
    // A frame checksum lets any reader detect corruption, as the zstd tool's output does by default.
    this.#context?.setParameter(this.#zstd.binding.CParameter.checksumFlag, 1);
  }

  async write(chunk: Buffer, emit: Emit): Promise<void> {
    await this.#run(chunk, this.#zstd.binding.EndDirective.continue, emit);
  }

  async end(emit: Emit): Promise<void> {
    await this.#run(Buffer.alloc(0), this.#zstd.binding.EndDirective.end, emit);
    this.#context = null;
  }

  destroy(): void {
    this.#context = null;
  }

  async #run(input: Buffer, directive: number, emit: Emit): Promise<void> {
    let rest = input;
    let out = Buffer.allocUnsafe(this.#zstd.compressOutBytes);
    for (;;) {
      if (this.#context === null) return;
      const [remaining, produced, consumed] = this.#context.compressStream2(out, rest, directive);
      rest = rest.subarray(consumed);
      if (produced > 0) {
        await emit(out.subarray(0, produced));
        out = Buffer.allocUnsafe(this.#zstd.compressOutBytes);
      }
      const isDone = directive === this.#zstd.binding.EndDirective.continue ? rest.length === 0 : remaining === 0;
      if (isDone) return;
    }
  }
}

class ZstdDecompressFilter implements ByteFilter {
  readonly #zstd = zstd();
  #context: InstanceType<ZstdBinding['DCtx']> | null = new this.#zstd.binding.DCtx();
  /** ZSTD_decompressStream's hint: 0 when a frame just ended cleanly. */
  #frameOpen = false;

  async write(chunk: Buffer, emit: Emit): Promise<void> {
    let rest = chunk;
    for (;;) {
      if (this.#context === null) return;
      const out = Buffer.allocUnsafe(this.#zstd.decompressOutBytes);
      let result: [number, number, number];
      try {
        result = this.#context.decompressStream(out, rest);
      } catch (error) {
        throw new ProtocolError('COMPRESSED_DATA_INVALID', `could not decompress zstd data: ${(error as Error).message}`, { cause: error });
      }
      const [hint, produced, consumed] = result;
      rest = rest.subarray(consumed);
      // With no progress the hint describes the next frame, not the state of the last one.
      if (consumed > 0 || produced > 0) this.#frameOpen = hint !== 0;
      if (produced > 0) await emit(out.subarray(0, produced));
      // A full output buffer may mean more is buffered inside zstd even when all input was consumed.
      if (rest.length === 0 && produced < out.length) return;
    }
  }

  async end(emit: Emit): Promise<void> {
    await this.write(Buffer.alloc(0), emit);
    if (this.#frameOpen) throw new ProtocolError('COMPRESSED_DATA_INVALID', 'zstd data ends in the middle of a frame');
    this.#context = null;
  }

  destroy(): void {
    this.#context = null;
  }
}
