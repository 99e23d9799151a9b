/**
 * gzip and gunzip through node:zlib. zlib runs on libuv's thread pool and already honours stream backpressure
 * inside a single write (it stops inflating while its readable side is full), so the adapter only has to read
 * while a write is in flight and await each output's `emit` before reading the next.
 *
 * Gunzip accepts concatenated gzip members, as gzip(1) does.
 */
import { createGunzip, createGzip, constants, type Zlib } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { ByteFilter, Emit, FlushableFilter } from './filter.ts';
import { ProtocolError } from '../../errors/index.ts';

const OUTPUT_CHUNK_BYTES = 256 * 1024;

export function createGzipFilter(level?: number): FlushableFilter {
  return new ZlibFilter(createGzip({ level: level ?? constants.Z_DEFAULT_COMPRESSION, chunkSize: OUTPUT_CHUNK_BYTES }), false);
}

export function createGunzipFilter(): ByteFilter {
  return new ZlibFilter(createGunzip({ chunkSize: OUTPUT_CHUNK_BYTES }), true);
}

class ZlibFilter implements FlushableFilter {
  readonly #stream: Transform & Zlib;
  readonly #isDecompressor: boolean;
  #failure: unknown = null;
  #wake: (() => void) | null = null;

  constructor(stream: Transform & Zlib, isDecompressor: boolean) {
    this.#stream = stream;
    this.#isDecompressor = isDecompressor;
    stream.on('readable', () => this.#poke());
    stream.on('error', (error) => {
      this.#failure ??= error;
      this.#poke();
    });
  }

  async write(chunk: Buffer, emit: Emit): Promise<void> {
    let written = false;
    this.#stream.write(chunk, () => {
      written = true;
      this.#poke();
    });
    await this.#drain(emit, () => written);
  }

  /** A sync flush: the output so far ends on a byte boundary and decodes completely; the stream goes on. */
  async flush(emit: Emit): Promise<void> {
    let flushed = false;
    this.#stream.flush(constants.Z_SYNC_FLUSH, () => {
      flushed = true;
      this.#poke();
    });
    await this.#drain(emit, () => flushed);
  }

  async end(emit: Emit): Promise<void> {
    let ended = false;
    this.#stream.once('end', () => {
      ended = true;
      this.#poke();
    });
    this.#stream.end();
    await this.#drain(emit, () => ended);
  }

  destroy(): void {
    this.#stream.destroy();
  }

  async #drain(emit: Emit, isDone: () => boolean): Promise<void> {
    for (;;) {
      let out: Buffer | null;
      while ((out = this.#stream.read() as Buffer | null) !== null) await emit(out);
      if (this.#failure !== null) throw this.#wrap(this.#failure);
      if (isDone() && this.#stream.readableLength === 0) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #wrap(error: unknown): unknown {
    if (!this.#isDecompressor) return error;
    return new ProtocolError('COMPRESSED_DATA_INVALID', `could not decompress gzip data: ${(error as Error).message}`, { cause: error });
  }
}
