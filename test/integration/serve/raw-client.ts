/**
 * A raw TCP client of the PostgreSQL protocol, for tests that send what no real client sends (garbage, lying
 * lengths, truncated frames, commands out of place) and must see exactly what comes back: bytes go out as given,
 * backend messages come in as type + body, and the way the server ended the connection is kept.
 *
 * Deliberately shares no code with src/protocol: the bytes sent and the parsing of the answers are built here, so
 * a bug in serve's codec cannot hide behind the same bug in the test.
 *
 * Reads give up after READ_TIMEOUT_MS with an error naming what was awaited: that turns a hang of the server
 * into a failure with a message instead of a test timeout; it is no bound on how fast the server must be.
 */
import { connect, type Socket } from 'node:net';

const READ_TIMEOUT_MS = 60_000;
export const PROTOCOL_3_0 = 3 << 16;
/** The special "protocol versions" of the other startup packets, as PostgreSQL defines them. */
export const CANCEL_REQUEST_CODE = (1234 << 16) | 5678;
export const SSL_REQUEST_CODE = (1234 << 16) | 5679;
export const GSSENC_REQUEST_CODE = (1234 << 16) | 5680;

export interface BackendMessage {
  /** The type character ('E', 'Z', ...). */
  readonly type: string;
  readonly body: Buffer;
}

/** An ErrorResponse or NoticeResponse by field character: S severity, C SQLSTATE, M message, D detail, H hint... */
export type ErrorFields = ReadonlyMap<string, string>;

export class RawConnection {
  readonly #socket: Socket;
  #pending: Buffer = Buffer.alloc(0);
  readonly #messages: BackendMessage[] = [];
  #ended: 'end' | 'error' | null = null;
  #garbled: string | null = null;
  #wake: (() => void) | null = null;
  /** The one-byte answer to SSLRequest or GSSENCRequest ('S', 'G', 'N'), once expected and received. */
  #answerByte: string | null = null;
  #isAwaitingAnswerByte = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      if (this.#isAwaitingAnswerByte && this.#pending.length > 0) {
        this.#answerByte = String.fromCharCode(this.#pending[0] as number);
        this.#pending = this.#pending.subarray(1);
        this.#isAwaitingAnswerByte = false;
      }
      this.#split();
      this.#notify();
    });
    socket.on('error', () => {
      this.#ended ??= 'error';
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended ??= 'end';
      this.#notify();
    });
  }

  static open(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(...parts: Buffer[]): void {
    this.#socket.write(Buffer.concat(parts));
  }

  /** Sends SSLRequest or GSSENCRequest (and whatever follows it): the first byte back is an answer, not a message. */
  sendEncryptionRequest(...parts: Buffer[]): void {
    this.#isAwaitingAnswerByte = true;
    this.send(...parts);
  }

  /** The answer byte to an encryption request, or null when the server closed without one. */
  async answerByte(awaiting: string): Promise<string | null> {
    await this.#waitFor(() => this.#answerByte !== null || this.#ended !== null, awaiting);
    return this.#answerByte;
  }

  /** Sends FIN: the server sees the end of the stream but can still answer. */
  halfClose(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** True once the server closed (or reset) the connection. */
  get isClosed(): boolean {
    return this.#ended !== null;
  }

  /** Bytes received that do not make a whole message (a server must not leave any). */
  get leftoverBytes(): number {
    return this.#pending.length;
  }

  /** The next message, or null once the connection ended and every message that came before was taken. */
  async next(awaiting: string): Promise<BackendMessage | null> {
    await this.#waitFor(() => this.#messages.length > 0 || this.#garbled !== null || this.#ended !== null, awaiting);
    const message = this.#messages.shift();
    if (message !== undefined) return message;
    if (this.#garbled !== null) throw new Error(this.#garbled);
    return null;
  }

  /** Messages up to and including the first of `types`, or all of them until the connection ended. */
  async readUntil(types: string, awaiting: string): Promise<BackendMessage[]> {
    const taken: BackendMessage[] = [];
    for (let message = await this.next(awaiting); message !== null; message = await this.next(awaiting)) {
      taken.push(message);
      if (types.includes(message.type)) return taken;
    }
    return taken;
  }

  /** Waits for the server to close the connection, returning whatever it still sent. */
  untilClosed(awaiting: string): Promise<BackendMessage[]> {
    return this.readUntil('', awaiting);
  }

  #split(): void {
    while (this.#pending.length >= 5) {
      const length = this.#pending.readInt32BE(1);
      if (length < 4) {
        this.#garbled = `the server sent a message of length ${length}`;
        this.#socket.destroy();
        return;
      }
      if (this.#pending.length < length + 1) return;
      this.#messages.push({
        type: String.fromCharCode(this.#pending[0] as number),
        body: Buffer.from(this.#pending.subarray(5, length + 1)),
      });
      this.#pending = this.#pending.subarray(length + 1);
    }
  }

  async #waitFor(isReady: () => boolean, awaiting: string): Promise<void> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (!isReady()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${READ_TIMEOUT_MS} ms while awaiting ${awaiting} (the server hangs?)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

export function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value | 0);
  return bytes;
}

export function cstring(text: string | Buffer): Buffer {
  return Buffer.concat([typeof text === 'string' ? Buffer.from(text, 'utf8') : text, Buffer.from([0])]);
}

/** A typed message with its true length. */
export function frame(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body]);
}

/** Only the 5-byte header of a typed message, its length field as given (self-inclusive, may lie). */
export function header(type: string, length: number): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(length)]);
}

/** Parameters as a record, or as pairs when their order or a repeated name matters (the fuzzer's). */
export function startupPacket(parameters: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>,
  version = PROTOCOL_3_0): Buffer {
  const pairs = Array.isArray(parameters) ? parameters : Object.entries(parameters);
  const body = Buffer.concat([int32(version), ...pairs.flatMap(([name, value]) => [cstring(name), cstring(value)]), Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export function query(sql: string | Buffer): Buffer {
  return frame('Q', cstring(sql));
}

export const TERMINATE: Buffer = frame('X');

export function errorFields(message: BackendMessage): ErrorFields {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < message.body.length && message.body[at] !== 0) {
    const end = message.body.indexOf(0, at + 1);
    if (end < 0) throw new Error(`unterminated field in ${message.type} message`);
    fields.set(String.fromCharCode(message.body[at] as number), message.body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return fields;
}

/**
 * Opens a connection and logs in with `parameters` (trust authentication: no password exchange), returning it at
 * its first ReadyForQuery; throws with the server's words if it refused.
 */
export async function login(host: string, port: number, parameters: Readonly<Record<string, string>>): Promise<RawConnection> {
  const connection = await RawConnection.open(host, port);
  connection.send(startupPacket(parameters));
  const answers = await connection.readUntil('Z', 'the login');
  const refusal = answers.find((message) => message.type === 'E' || (message.type === 'R' && message.body.readInt32BE(0) !== 0));
  if (refusal !== undefined || answers.at(-1)?.type !== 'Z') {
    connection.destroy();
    const why = refusal?.type === 'E' ? errorFields(refusal).get('M') : `answers ${answers.map((message) => message.type).join('')}`;
    throw new Error(`login to port ${port} failed: ${why ?? 'unknown'}`);
  }
  return connection;
}

/** The text values of a DataRow (null for SQL NULL). */
export function dataRowValues(message: BackendMessage): Array<string | null> {
  const count = message.body.readInt16BE(0);
  const values: Array<string | null> = [];
  let at = 2;
  for (let column = 0; column < count; column++) {
    const length = message.body.readInt32BE(at);
    at += 4;
    values.push(length < 0 ? null : message.body.toString('utf8', at, at + length));
    at += Math.max(length, 0);
  }
  return values;
}
