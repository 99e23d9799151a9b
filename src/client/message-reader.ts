/**
 * Turns a socket into a pull-based source of backend messages, with backpressure: frames are queued as they
 * arrive, decoded when a caller asks, and the socket is paused while the queue holds more than
 * QUEUE_HIGH_WATER_BYTES; it resumes once a consumer has drained it below QUEUE_LOW_WATER_BYTES. Memory per
 * connection is therefore bounded (queue + the stream's own buffer) whatever the size of the backup.
 *
 * Endings: frames that arrived before the server closed are still delivered, then reads reject with
 * ConnectionError CONNECTION_CLOSED — never a silent end. `fail(error)` stops at once: the queue is dropped,
 * the socket destroyed, and every pending and future read rejects with that error (abort, protocol error).
 */
import type { Socket } from 'node:net';
import { ConnectionError } from '../errors/index.ts';
import { decodeBackendMessage } from '../protocol/decode-backend.ts';
import { Framer, MAX_FRAME_BYTES, type Frame } from '../protocol/framer.ts';
import type { BackendMessage } from '../protocol/messages.ts';

export const QUEUE_HIGH_WATER_BYTES = 256 * 1024;
export const QUEUE_LOW_WATER_BYTES = 64 * 1024;
const FRAME_HEADER_BYTES = 5;

interface Waiter {
  resolve(message: BackendMessage): void;
  reject(error: unknown): void;
}

export class MessageReader {
  readonly #socket: Socket;
  readonly #framer: Framer;
  #frames: Frame[] = [];
  #head = 0;
  #queuedBytes = 0;
  #isPaused = false;
  #waiter: Waiter | null = null;
  /** Raised once the queue is drained: the peer ended the stream. */
  #endError: Error | null = null;
  /** Raised immediately: we gave up on this connection. */
  #failure: unknown = null;

  constructor(socket: Socket, maxFrameBytes = MAX_FRAME_BYTES) {
    this.#socket = socket;
    this.#framer = new Framer(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd(null));
    socket.on('close', () => this.#onEnd(null));
    socket.on('error', (error: Error) => this.#onEnd(error));
    socket.resume();
  }

  get failure(): unknown {
    return this.#failure ?? (this.#head === this.#frames.length ? this.#endError : null);
  }

  /** The next message; rejects with the reason the connection ended or failed. One reader at a time. */
  read(): Promise<BackendMessage> {
    if (this.#waiter !== null) return Promise.reject(new Error('concurrent read on one connection'));
    return new Promise<BackendMessage>((resolve, reject) => {
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
    if (this.#queuedBytes > QUEUE_HIGH_WATER_BYTES && !this.#isPaused) {
      this.#isPaused = true;
      this.#socket.pause();
    }
    this.#deliver();
  }

  #onEnd(error: Error | null): void {
    if (this.#endError === null) {
      const reason = error === null ? '' : `: ${error.message}`;
      this.#endError = new ConnectionError('CONNECTION_CLOSED', `server closed the connection unexpectedly${reason}`, {
        hint: 'This probably means the server terminated abnormally before or while processing the request.',
        ...(error === null ? {} : { cause: error }),
      });
    }
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
      if (this.#isPaused && this.#queuedBytes < QUEUE_LOW_WATER_BYTES && this.#endError === null) {
        this.#isPaused = false;
        this.#socket.resume();
      }
      this.#waiter = null;
      let message: BackendMessage;
      try {
        message = decodeBackendMessage(frame);
      } catch (error) {
        this.fail(error);
        waiter.reject(error);
        return;
      }
      waiter.resolve(message);
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
