/**
 * Incremental framer for backend messages: socket chunks in, whole frames (type byte + body) out.
 *
 * Memory rule: a frame body is either a subarray view of the chunk it arrived in (the common case) or, for a
 * frame that straddles chunks, a buffer allocated once at its final size and filled as the pieces arrive. The
 * framer never writes into a buffer after handing it out and never concatenates per message, so frames may be
 * kept indefinitely by consumers and throughput is bounded by one memcpy of the straddling frames at worst.
 * Callers must not reuse a chunk's memory after pushing it (Node's socket chunks are fresh per read).
 *
 * Limits: a length below 4 is MALFORMED_MESSAGE; a body above `maxFrameBytes` is FRAME_TOO_LARGE, raised as
 * soon as the header is seen, before anything is allocated. After an error the framer stays failed.
 */
import { ProtocolError } from '../errors/index.ts';
import { typeChar } from './codes.ts';

export interface Frame {
  readonly type: number;
  readonly body: Buffer;
}

/** Big enough for any message of a base backup or WAL stream; small enough that a corrupt length fails fast. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 5;

export class Framer {
  readonly #maxFrameBytes: number;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFilled = 0;
  /** Body of a straddling frame under construction, and how much of it is filled. */
  #partial: Buffer | null = null;
  #partialFilled = 0;
  #partialType = 0;
  #failure: ProtocolError | null = null;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** True when no partial frame is pending: a clean point for the stream to end. */
  get isIdle(): boolean {
    return this.#headerFilled === 0 && this.#partial === null;
  }

  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (this.#failure !== null) throw this.#failure;
    let at = 0;
    if (!this.isIdle) at = this.#continuePending(chunk, onFrame);
    const end = chunk.length;
    while (end - at >= HEADER_BYTES) {
      const type = chunk[at] as number;
      const bodyBytes = this.#bodyBytes(type, chunk.readInt32BE(at + 1));
      const bodyStart = at + HEADER_BYTES;
      if (end - bodyStart >= bodyBytes) {
        onFrame({ type, body: chunk.subarray(bodyStart, bodyStart + bodyBytes) });
        at = bodyStart + bodyBytes;
      } else {
        this.#startPartial(type, bodyBytes, chunk.subarray(bodyStart));
        return;
      }
    }
    if (at < end) {
      chunk.copy(this.#header, 0, at, end);
      this.#headerFilled = end - at;
    }
  }

  /** Completes a pending header and/or body from the front of `chunk`; returns how much of it was used. */
  #continuePending(chunk: Buffer, onFrame: (frame: Frame) => void): number {
    let at = 0;
    if (this.#partial === null) {
      const take = Math.min(HEADER_BYTES - this.#headerFilled, chunk.length);
      chunk.copy(this.#header, this.#headerFilled, 0, take);
      this.#headerFilled += take;
      at = take;
      if (this.#headerFilled < HEADER_BYTES) return at;
      this.#headerFilled = 0;
      const type = this.#header[0] as number;
      const bodyBytes = this.#bodyBytes(type, this.#header.readInt32BE(1));
      this.#startPartial(type, bodyBytes, Buffer.alloc(0));
    }
    const partial = this.#partial as Buffer;
    const take = Math.min(partial.length - this.#partialFilled, chunk.length - at);
    chunk.copy(partial, this.#partialFilled, at, at + take);
    this.#partialFilled += take;
    at += take;
    if (this.#partialFilled === partial.length) {
      this.#partial = null;
      onFrame({ type: this.#partialType, body: partial });
    }
    return at;
  }

  #startPartial(type: number, bodyBytes: number, firstPiece: Buffer): void {
    this.#partial = Buffer.allocUnsafe(bodyBytes);
    firstPiece.copy(this.#partial, 0);
    this.#partialFilled = firstPiece.length;
    this.#partialType = type;
  }

  #bodyBytes(type: number, length: number): number {
    if (length < 4) {
      this.#failure = new ProtocolError('MALFORMED_MESSAGE', `invalid message length ${length} for message type "${typeChar(type)}"`, {
        details: { type: typeChar(type), length },
      });
      throw this.#failure;
    }
    if (length - 4 > this.#maxFrameBytes) {
      this.#failure = new ProtocolError('FRAME_TOO_LARGE', `message of type "${typeChar(type)}" is too large: ${length - 4} bytes (limit ${this.#maxFrameBytes})`, {
        details: { type: typeChar(type), length, limit: this.#maxFrameBytes },
      });
      throw this.#failure;
    }
    return length - 4;
  }
}
