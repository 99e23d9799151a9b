/**
 * Streaming decoder of the LZ4 frame format (what PostgreSQL's server-side lz4 and `lz4` the tool write): frames,
 * skippable frames, linked or independent blocks, optional content size, block and content checksums (verified).
 *
 * Written here because no maintained npm package decodes LZ4 frames incrementally with linked blocks (PostgreSQL's
 * server uses linked blocks). Memory: pending input up to one block plus one output block and 64 KiB of history.
 */
import { ProtocolError } from '../../errors/index.ts';
import type { ByteFilter, Emit } from './filter.ts';
import { decodeLz4Block } from './lz4-block.ts';
import { Xxh32, xxh32 } from './xxh32.ts';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const HISTORY_BYTES = 64 * 1024;
const BLOCK_MAX_BYTES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

type State = 'magic' | 'skip-size' | 'skip' | 'descriptor' | 'block-size' | 'block' | 'content-checksum';

interface Frame {
  readonly isLinked: boolean;
  readonly hasBlockChecksum: boolean;
  readonly contentHash: Xxh32 | null;
  readonly blockMaxBytes: number;
}

function corrupt(why: string): ProtocolError {
  return new ProtocolError('COMPRESSED_DATA_INVALID', `invalid LZ4 frame: ${why}`);
}

export class Lz4FrameDecoder implements ByteFilter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #state: State = 'magic';
  #need = 4;
  #frame: Frame | null = null;
  #blockWord = 0;
  #history: Buffer = Buffer.alloc(0);
  #isDestroyed = false;

  async write(chunk: Buffer, emit: Emit): Promise<void> {
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    while (!this.#isDestroyed) {
      if (this.#state === 'skip') {
        this.#skipPending();
        if (this.#need > 0) return;
        this.#expect('magic', 4);
        continue;
      }
      if (this.#pendingBytes < this.#need) return;
      const bytes = this.#take(this.#need);
      const output = this.#step(bytes);
      if (output !== null) await emit(output);
    }
  }

  async end(emit: Emit): Promise<void> {
    await this.write(Buffer.alloc(0), emit);
    if (this.#state !== 'magic' || this.#pendingBytes > 0) throw corrupt('data ends inside a frame');
  }

  destroy(): void {
    this.#isDestroyed = true;
    this.#pending = [];
  }

  #step(bytes: Buffer): Buffer | null {
    switch (this.#state) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (magic === FRAME_MAGIC) this.#expect('descriptor', 2);
        else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) this.#expect('skip-size', 4);
        else throw corrupt(`unknown magic number 0x${magic.toString(16)}`);
        return null;
      }
      case 'skip-size':
        this.#expect('skip', bytes.readUInt32LE(0));
        return null;
      case 'descriptor':
        return this.#descriptor(bytes);
      case 'block-size':
        this.#blockSize(bytes.readUInt32LE(0));
        return null;
      case 'block':
        return this.#block(bytes);
      case 'content-checksum':
        if (this.#frame?.contentHash && this.#frame.contentHash.digest() !== bytes.readUInt32LE(0)) throw corrupt('content checksum mismatch');
        this.#frame = null;
        this.#expect('magic', 4);
        return null;
      default:
        throw corrupt(`unexpected state ${this.#state}`);
    }
  }

  #descriptor(bytes: Buffer): null {
    const flags = bytes[0] as number;
    if (bytes.length === 2) {
      if (flags >>> 6 !== 1) throw corrupt('unsupported frame version');
      // FLG, BD, then optional 8-byte content size and 4-byte dictionary id, then the header checksum byte.
      this.#need = 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0) + 1;
      if (this.#pendingBytes >= this.#need - 2) {
        const rest = this.#take(this.#need - 2);
        return this.#descriptor(Buffer.concat([bytes, rest]));
      }
      this.#pending.unshift(bytes);
      this.#pendingBytes += 2;
      return null;
    }
    if (flags & 0x01) throw corrupt('dictionaries are not supported');
    const blockMaxBytes = BLOCK_MAX_BYTES[((bytes[1] as number) >>> 4) & 7];
    if (blockMaxBytes === undefined) throw corrupt('invalid block maximum size');
    const headerChecksum = (xxh32(bytes.subarray(0, bytes.length - 1)) >>> 8) & 0xff;
    if (headerChecksum !== bytes[bytes.length - 1]) throw corrupt('header checksum mismatch');
    this.#frame = {
      isLinked: (flags & 0x20) === 0,
      hasBlockChecksum: (flags & 0x10) !== 0,
      contentHash: (flags & 0x04) ? new Xxh32() : null,
      blockMaxBytes,
    };
    this.#history = Buffer.alloc(0);
    this.#expect('block-size', 4);
    return null;
  }

  #blockSize(word: number): void {
    const frame = this.#frame as Frame;
    if (word === 0) {
      if (frame.contentHash !== null) this.#expect('content-checksum', 4);
      else {
        this.#frame = null;
        this.#expect('magic', 4);
      }
      return;
    }
    const size = word & 0x7fffffff;
    if (size > frame.blockMaxBytes) throw corrupt('block larger than the frame allows');
    this.#blockWord = word;
    this.#expect('block', size + (frame.hasBlockChecksum ? 4 : 0));
  }

  #block(bytes: Buffer): Buffer {
    const frame = this.#frame as Frame;
    let data = bytes;
    if (frame.hasBlockChecksum) {
      data = bytes.subarray(0, bytes.length - 4);
      if (xxh32(data) !== bytes.readUInt32LE(bytes.length - 4)) throw corrupt('block checksum mismatch');
    }
    let output: Buffer;
    if (this.#blockWord & 0x80000000) {
      output = data; // stored uncompressed: hand on the input bytes, never modified
    } else {
      const history = frame.isLinked ? this.#history : Buffer.alloc(0);
      const window = Buffer.allocUnsafe(history.length + frame.blockMaxBytes);
      history.copy(window, 0);
      const end = decodeLz4Block(data, window, history.length);
      output = window.subarray(history.length, end);
      if (frame.isLinked) this.#history = window.subarray(Math.max(0, end - HISTORY_BYTES), end);
    }
    if (frame.isLinked && this.#blockWord & 0x80000000) {
      const joined = Buffer.concat([this.#history, output]);
      this.#history = joined.subarray(Math.max(0, joined.length - HISTORY_BYTES));
    }
    frame.contentHash?.update(output);
    this.#expect('block-size', 4);
    return output;
  }

  #expect(state: State, need: number): void {
    this.#state = state;
    this.#need = need;
  }

  #skipPending(): void {
    while (this.#need > 0 && this.#pending.length > 0) {
      const first = this.#pending[0] as Buffer;
      const take = Math.min(first.length, this.#need);
      this.#need -= take;
      this.#pendingBytes -= take;
      if (take === first.length) this.#pending.shift();
      else this.#pending[0] = first.subarray(take);
    }
  }

  /** Removes exactly `count` bytes from the pending input; copies only when they span chunks. */
  #take(count: number): Buffer {
    const first = this.#pending[0];
    if (first !== undefined && first.length >= count) {
      this.#pendingBytes -= count;
      if (first.length === count) this.#pending.shift();
      else this.#pending[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const head = this.#pending[0] as Buffer;
      const take = Math.min(head.length, count - filled);
      head.copy(out, filled, 0, take);
      filled += take;
      if (take === head.length) this.#pending.shift();
      else this.#pending[0] = head.subarray(take);
    }
    this.#pendingBytes -= count;
    return out;
  }
}
