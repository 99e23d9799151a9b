/**
 * LZ4 frame writer: one frame of independent 1 MiB blocks, no content checksum (PostgreSQL's defaults apart from the
 * block mode), readable by `lz4 -d`, pg_basebackup and pg_verifybackup.
 *
 * Blocks are compressed by lz4-napi (lz4_flex, native, on libuv's thread pool). lz4-napi exposes LZ4 blocks with
 * the uncompressed size prepended as 4 little-endian bytes; that word is overwritten with the frame's block size.
 * Known limitation: lz4_flex has only LZ4's fast mode, so the level (1-12) is accepted but does not change the
 * output; levels >= 3 (LZ4HC in pg_basebackup) give a larger file than pg_basebackup would.
 */
import { createRequire } from 'node:module';
import type { ByteFilter, Emit } from './filter.ts';
import { xxh32 } from './xxh32.ts';

type Lz4Napi = typeof import('lz4-napi');

let lz4: Lz4Napi | null = null;

/** Loaded by the first block: a native library of a few MB that a run without lz4 never maps. */
function compress(input: Buffer): Promise<Buffer> {
  lz4 ??= createRequire(import.meta.url)('lz4-napi') as Lz4Napi;
  return lz4.compress(input);
}

const BLOCK_BYTES = 1024 * 1024;
const UNCOMPRESSED_FLAG = 0x80000000;

function frameHeader(): Buffer {
  // FLG: version 01, independent blocks; BD: 1 MiB maximum block size (id 6).
  const descriptor = Buffer.from([0x60, 0x60]);
  const header = Buffer.alloc(7);
  header.writeUInt32LE(0x184d2204, 0);
  descriptor.copy(header, 4);
  header[6] = (xxh32(descriptor) >>> 8) & 0xff;
  return header;
}

export class Lz4FrameEncoder implements ByteFilter {
  #staging = Buffer.allocUnsafe(BLOCK_BYTES);
  #fill = 0;
  #isStarted = false;
  #isDestroyed = false;

  async write(chunk: Buffer, emit: Emit): Promise<void> {
    await this.#start(emit);
    let at = 0;
    while (at < chunk.length && !this.#isDestroyed) {
      const take = Math.min(BLOCK_BYTES - this.#fill, chunk.length - at);
      chunk.copy(this.#staging, this.#fill, at, at + take);
      this.#fill += take;
      at += take;
      if (this.#fill === BLOCK_BYTES) await this.#flushBlock(emit);
    }
  }

  async end(emit: Emit): Promise<void> {
    await this.#start(emit);
    if (this.#fill > 0) await this.#flushBlock(emit);
    if (!this.#isDestroyed) await emit(Buffer.alloc(4)); // end mark
  }

  destroy(): void {
    this.#isDestroyed = true;
  }

  async #start(emit: Emit): Promise<void> {
    if (this.#isStarted) return;
    this.#isStarted = true;
    await emit(frameHeader());
  }

  async #flushBlock(emit: Emit): Promise<void> {
    const input = this.#staging.subarray(0, this.#fill);
    const packed = await compress(input);
    const compressedBytes = packed.length - 4;
    let block: Buffer;
    if (compressedBytes < input.length) {
      block = packed;
      block.writeUInt32LE(compressedBytes, 0);
    } else {
      block = Buffer.allocUnsafe(4 + input.length);
      block.writeUInt32LE((UNCOMPRESSED_FLAG | input.length) >>> 0, 0);
      input.copy(block, 4);
    }
    this.#fill = 0;
    if (!this.#isDestroyed) await emit(block);
  }
}
