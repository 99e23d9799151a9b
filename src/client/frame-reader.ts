/**
 * A socket as a pull-based source of whole protocol frames (type byte + body), with backpressure: frames are
 * queued as they arrive and the socket is paused while the queue holds more than `highWaterBytes`, resumed once a
 * consumer drained it below a quarter of that. Used where frames are passed on rather than interpreted (serve's
 * relay, in both directions) and under the client's MessageReader.
 *
 * Endings: frames that arrived before the peer closed are still delivered, then `read()` rejects with the error
 * made by `onEnd` — never a silent end. `fail(error)` stops at once: the queue is dropped, the socket destroyed,
 * and every pending and later read rejects with that error. A framing error (bad length, oversized frame) fails
 * the reader the same way.
 *
 * Byte ownership: frames are views of socket chunks (or buffers the framer allocated for straddling frames);
 * nothing here writes into them after they are handed out.
 */
import type { Socket } from 'node:net';
import { Framer, MAX_FRAME_BYTES, type Frame } from '../protocol/framer.ts';

const FRAME_HEADER_BYTES = 5;

interface Waiter {
  resolve(frame: Frame): void;
  reject(error: unknown): void;
}

export interface FrameReaderOptions {
  readonly maxFrameBytes?: number;
  readonly highWaterBytes?: number;
  /** Bytes that arrived with an earlier packet (e.g. after a startup packet), fed before the socket's own. */
  readonly initial?: Buffer;
  /** The error reads reject with once the peer ended the stream (`cause` is the socket error, if any). */
  readonly onEnd: (cause: Error | null) => Error;
}

export class FrameReader {
  readonly #socket: Socket;
  readonly #framer: Framer;
  readonly #highWaterBytes: number;
  readonly #onEndError: (cause: Error | null) => Error;
  #frames: Frame[] = [];
  #head = 0;
  #queuedBytes = 0;
  #isPaused = false;
  #waiter: Waiter | null = null;
  #endError: Error | null = null;
  #failure: unknown = null;

  constructor(socket: Socket, options: FrameReaderOptions) {
    this.#socket = socket;
    this.#framer = new Framer(options.maxFrameBytes ?? MAX_FRAME_BYTES);
    this.#highWaterBytes = options.highWaterBytes ?? 256 * 1024;
    this.#onEndError = options.onEnd;
    if (options.initial !== undefined && options.initial.length > 0) this.#onData(options.initial);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd(null));
    socket.on('close', () => this.#onEnd(null));
    socket.on('error', (error: Error) => this.#onEnd(error));
    if (!this.#isPaused) socket.resume();
  }

  /** The reason reads fail now, if they do. */
  get failure(): unknown {
    return this.#failure ?? (this.#head === this.#frames.length ? this.#endError : null);
  }

  /** The next frame; one reader at a time. */
  read(): Promise<Frame> {
    if (this.#waiter !== null) return Promise.reject(new Error('concurrent read on one connection'));
    return new Promise<Frame>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#deliver();
    });
  }

  fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#frames = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    this.#socket.destroy();
    this.#rejectWaiter(error);
  }

  #onData(chunk: Buffer): void {
    if (this.#failure !== null) return;
    try {
      this.#framer.push(chunk, (frame) => {
        this.#frames.push(frame);
        this.#queuedBytes += frame.body.length + FRAME_HEADER_BYTES;
      });
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.#queuedBytes > this.#highWaterBytes && !this.#isPaused) {
      this.#isPaused = true;
      this.#socket.pause();
    }
    this.#deliver();
  }

  #onEnd(error: Error | null): void {
    this.#endError ??= this.#onEndError(error);
    this.#deliver();
  }

  #deliver(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    if (this.#failure !== null) {
      this.#rejectWaiter(this.#failure);
      return;
    }
    if (this.#head < this.#frames.length) {
      const frame = this.#frames[this.#head++] as Frame;
      this.#queuedBytes -= frame.body.length + FRAME_HEADER_BYTES;
      if (this.#head === this.#frames.length) {
        this.#frames = [];
        this.#head = 0;
      }
      if (this.#isPaused && this.#queuedBytes < this.#highWaterBytes / 4 && this.#endError === null) {
        this.#isPaused = false;
        this.#socket.resume();
      }
      this.#waiter = null;
      waiter.resolve(frame);
      return;
    }
    if (this.#endError !== null) this.#rejectWaiter(this.#endError);
  }

  #rejectWaiter(error: unknown): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(error);
  }
}
