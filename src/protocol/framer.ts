/**
 * Incremental framer for backend messages: socket chunks in, whole frames (type byte + body) out.
 *
 * Memory rule: a frame body is a view of the chunk it arrived in (the common case); for a frame that straddles
 * chunks, a view spanning them when they lie next to each other in one ArrayBuffer (the client's socket reads
 * fill consecutive parts of one slab, src/client/read-slabs.ts), else a buffer allocated once at its final size
 * and filled from the pieces when the last one arrives. Until then the pieces are kept as views, not copied. The
 * framer never writes into a buffer after handing it out, so frames may be kept indefinitely by consumers, and
 * throughput is bounded by one memcpy of the straddling frames that are not contiguous at worst. Callers must not
 * reuse a chunk's memory after pushing it (Node's socket chunks are fresh per read; slabs are never rewound).
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
  /** The pieces of a straddling frame's body that arrived so far (views of their chunks), and their size. */
  #pieces: Buffer[] | null = null;
  #piecesBytes = 0;
  #partialBytes = 0;
  #partialType = 0;
  #failure: ProtocolError | null = null;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** True when no partial frame is pending: a clean point for the stream to end. */
  get isIdle(): boolean {
    return this.#headerFilled === 0 && this.#pieces === null;
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
    if (this.#pieces === null) {
      const take = Math.min(HEADER_BYTES - this.#headerFilled, chunk.length);
      chunk.copy(this.#header, this.#headerFilled, 0, take);
      this.#headerFilled += take;
      at = take;
      if (this.#headerFilled < HEADER_BYTES) return at;
      this.#headerFilled = 0;
      const type = this.#header[0] as number;
      const bodyBytes = this.#bodyBytes(type, this.#header.readInt32BE(1));
      this.#startPartial(type, bodyBytes);
    }
    const pieces = this.#pieces as Buffer[];
    const take = Math.min(this.#partialBytes - this.#piecesBytes, chunk.length - at);
    if (take > 0) pieces.push(chunk.subarray(at, at + take));
    this.#piecesBytes += take;
    at += take;
    if (this.#piecesBytes === this.#partialBytes) {
      this.#pieces = null;
      onFrame({ type: this.#partialType, body: joinPieces(pieces, this.#partialBytes) });
    }
    return at;
  }

  #startPartial(type: number, bodyBytes: number, firstPiece?: Buffer): void {
    this.#pieces = firstPiece === undefined || firstPiece.length === 0 ? [] : [firstPiece];
    this.#piecesBytes = firstPiece?.length ?? 0;
    this.#partialBytes = bodyBytes;
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

/** One view over pieces that lie next to each other in one ArrayBuffer, else a copy of them. */
function joinPieces(pieces: readonly Buffer[], bytes: number): Buffer {
  const first = pieces[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.length;
  let isContiguous = true;
  for (let i = 1; i < pieces.length && isContiguous; i++) {
    const piece = pieces[i] as Buffer;
    isContiguous = piece.buffer === first.buffer && piece.byteOffset === end;
    end += piece.length;
  }
  if (isContiguous) return Buffer.from(first.buffer, first.byteOffset, bytes);
  const body = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const piece of pieces) at += piece.copy(body, at);
  return body;
}
