/**
 * A scripted peer for unit tests of the session state machine: a real TCP listener on 127.0.0.1 that plays a
 * test-written sequence of backend bytes (built by wire-builder.ts) and reads what the client sends. Not a
 * PostgreSQL stand-in: it checks only what each test asserts. Integration tests use real servers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ConnectionParams } from '../../../src/client/types.ts';
import { authenticationOk, backendKeyData, parameterStatus, readyForQuery } from '../protocol/wire-builder.ts';

export interface FrontendMessage {
  readonly type: string;
  readonly body: Buffer;
}

export class PeerConnection {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #isEnded = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#isEnded = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** The untyped startup packet; returns its parameters. */
  async readStartup(): Promise<Record<string, string>> {
    const length = (await this.#take(4)).readInt32BE(0);
    const body = await this.#take(length - 4);
    const parts = body.subarray(4).toString('utf8').split('\0');
    const parameters: Record<string, string> = {};
    for (let index = 0; index + 1 < parts.length; index += 2) if (parts[index] !== '') parameters[parts[index] as string] = parts[index + 1] as string;
    return parameters;
  }

  async readMessage(): Promise<FrontendMessage> {
    const header = await this.#take(5);
    return { type: String.fromCharCode(header[0] as number), body: await this.#take(header.readInt32BE(1) - 4) };
  }

  /** Resolves with the next message of `type`, skipping others (e.g. status updates). */
  async readUntil(type: string): Promise<FrontendMessage> {
    for (;;) {
      const message = await this.readMessage();
      if (message.type === type) return message;
    }
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** AuthenticationOk, server_version, BackendKeyData, ReadyForQuery. */
  async acceptStartup(serverVersion = '15.18 (Debian 15.18-0+deb12u1)'): Promise<Record<string, string>> {
    const parameters = await this.readStartup();
    this.write(Buffer.concat([
      authenticationOk(), parameterStatus('server_version', serverVersion), parameterStatus('integer_datetimes', 'on'),
      backendKeyData(4242, 1), readyForQuery(),
    ]));
    return parameters;
  }

  get isEnded(): boolean {
    return this.#isEnded;
  }

  async #take(count: number): Promise<Buffer> {
    while (this.#buffer.length < count) {
      if (this.#isEnded) throw new Error('client closed the connection');
      await new Promise<void>((resolve) => { this.#wake = resolve; });
      this.#wake = null;
    }
    const taken = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }
}

export interface ScriptedServer {
  readonly params: ConnectionParams;
  /** Settles when the script finished (or rejects with its failure). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

export async function scriptedServer(script: (peer: PeerConnection) => Promise<void>): Promise<ScriptedServer> {
  let settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  const done = new Promise<void>((resolve, reject) => { settle = { resolve, reject }; });
  done.catch(() => {}); // scripts cut short by a test's close() must not become unhandled rejections
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    script(new PeerConnection(socket)).then(() => settle?.resolve(), (error: unknown) => settle?.reject(error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    params: {
      host: '127.0.0.1', port, user: 'tester', database: 'replication', sslmode: 'disable', applicationName: 'test',
      connectTimeoutMs: 5000, replication: 'true',
    },
    done,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
