/**
 * A raw TCP peer for the fuzzer: bytes go out exactly as built, bytes come back as backend messages (type, body)
 * checked for form (a known type letter, a sane length), and how the server ended the connection is kept. It
 * shares nothing with src/protocol, so serve's codec is not its own witness. Builders for the few well-formed
 * messages the fuzzer starts from are here too.
 *
 * Reads wait at most `idleMs` for the next byte: a silent server becomes an outcome ("idle"), not a hung test.
 */
import { connect, type Socket } from 'node:net';

/** Every message type a PostgreSQL backend may send (protocol 3.0), and the one-byte SSL/GSS answers. */
const BACKEND_TYPES = new Set('R K S Z E N T D C I H W G d c A V t n s 1 2 3 v'.split(' '));
/** A backend message larger than this is nonsense here (the biggest are CopyData chunks of a backup). */
const MAX_BACKEND_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

export type ReadResult =
  | { readonly kind: 'message'; readonly message: BackendMessage }
  | { readonly kind: 'closed' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'garbled'; readonly why: string };

export class WireClient {
  readonly #socket: Socket;
  #pending: Buffer = Buffer.alloc(0);
  #isClosed = false;
  #wake: (() => void) | null = null;
  /** Bytes received in all. */
  received = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
      this.#notify();
    });
    const end = (): void => {
      this.#isClosed = true;
      this.#notify();
    };
    socket.on('error', end);
    socket.on('close', end);
    socket.on('end', end);
  }

  static open(host: string, port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireClient(socket));
      });
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  /** FIN: the server sees the end of our bytes and may still answer. */
  halfClose(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The one-byte answer to SSLRequest / GSSENCRequest ('N', 'S', 'G'), taken if it is what came next. */
  async readNegotiationByte(idleMs: number): Promise<'N' | 'S' | 'G' | 'other' | 'closed' | 'idle'> {
    if (!(await this.#waitFor(1, idleMs))) return this.#pending.length === 0 && this.#isClosed ? 'closed' : 'idle';
    const byte = String.fromCharCode(this.#pending[0] as number);
    if (byte !== 'N' && byte !== 'S' && byte !== 'G') return 'other';
    this.#pending = this.#pending.subarray(1);
    return byte;
  }

  async read(idleMs: number): Promise<ReadResult> {
    if (!(await this.#waitFor(5, idleMs))) return this.#ended();
    const type = String.fromCharCode(this.#pending[0] as number);
    const length = this.#pending.readInt32BE(1);
    if (!BACKEND_TYPES.has(type)) return { kind: 'garbled', why: `message type 0x${(this.#pending[0] as number).toString(16)}` };
    if (length < 4 || length > MAX_BACKEND_MESSAGE_BYTES) return { kind: 'garbled', why: `${type} message of length ${length}` };
    if (!(await this.#waitFor(length + 1, idleMs))) {
      return this.#isClosed ? { kind: 'garbled', why: `connection closed inside a ${type} message` } : { kind: 'idle' };
    }
    const message = { type, body: Buffer.from(this.#pending.subarray(5, length + 1)) };
    this.#pending = this.#pending.subarray(length + 1);
    return { kind: 'message', message };
  }

  #ended(): ReadResult {
    if (!this.#isClosed) return { kind: 'idle' };
    return this.#pending.length === 0 ? { kind: 'closed' } : { kind: 'garbled', why: `${this.#pending.length} stray bytes before the close` };
  }

  /** Waits until `bytes` are buffered; false on close or after `idleMs` without new data. */
  async #waitFor(bytes: number, idleMs: number): Promise<boolean> {
    while (this.#pending.length < bytes) {
      if (this.#isClosed) return false;
      const before = this.received;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      if (this.received === before && !this.#isClosed) return false;
    }
    return true;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

// The message builders and request codes are the serve integration tests' raw client's: one definition of the bytes.
export {
  CANCEL_REQUEST_CODE, cstring, frame, GSSENC_REQUEST_CODE, int32, PROTOCOL_3_0, query, SSL_REQUEST_CODE, startupPacket,
} from '../integration/serve/raw-client.ts';

export function errorMessage(message: BackendMessage): { severity: string; code: string; text: string } {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < message.body.length && message.body[at] !== 0) {
    const end = message.body.indexOf(0, at + 1);
    if (end < 0) break;
    fields.set(String.fromCharCode(message.body[at] as number), message.body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return { severity: fields.get('V') ?? fields.get('S') ?? '', code: fields.get('C') ?? '', text: fields.get('M') ?? '' };
}
