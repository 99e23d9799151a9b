/**
 * The first bytes of a client connection, before any typed message: SSLRequest (answered 'S' and followed by
 * a TLS handshake when serve has a certificate, 'N' otherwise), GSSENCRequest (always 'N': GSS encryption cannot
 * be relayed), CancelRequest (handed back for the cancel registry; the connection then closes), and the
 * StartupMessage whose parameters the relayed login will carry.
 *
 * As PostgreSQL: bytes sent after SSLRequest before our answer are refused (they could be injected), a packet
 * must arrive within the authentication timeout, and a malformed packet gets a FATAL ErrorResponse.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { ConvoyError, ProtocolError } from '../errors/index.ts';
import { StartupPacketReader, type StartupPacket } from '../protocol/startup-packet.ts';

export type StartupOutcome =
  | {
    readonly type: 'startup';
    readonly socket: Socket;
    readonly ssl: boolean;
    readonly protocolVersion: number;
    readonly parameters: ReadonlyMap<string, string>;
    /** Bytes that followed the StartupMessage (the client's first typed messages, if it pipelined). */
    readonly rest: Buffer;
  }
  | { readonly type: 'cancel'; readonly processId: number; readonly secretKey: Buffer };

/** Reads packets until a StartupMessage or CancelRequest; throws ProtocolError (with an SQLSTATE) on bad input. */
export async function acceptStartup(socket: Socket, tls: SecureContext | null, signal: AbortSignal): Promise<StartupOutcome> {
  let current = socket;
  let isSsl = false;
  let hasNegotiated = false;
  for (;;) {
    const { packet, rest } = await readPacket(current, signal);
    switch (packet.type) {
      case 'SSLRequest':
      case 'GSSENCRequest': {
        if (hasNegotiated && (isSsl || packet.type === 'SSLRequest')) throw protocolViolation('unexpected encryption request after negotiation');
        hasNegotiated = true;
        const accept = packet.type === 'SSLRequest' && tls !== null;
        // answered first, as PostgreSQL does: a client reads the one-byte answer before anything else, then the FATAL
        current.write(accept ? 'S' : 'N');
        if (rest.length > 0) {
          throw protocolViolation(`received unencrypted data after ${packet.type === 'SSLRequest' ? 'SSL' : 'GSSAPI encryption'} request`,
            'This could be a bug in the client, or a man-in-the-middle attack.');
        }
        if (accept) {
          current = await startTls(current, tls as SecureContext, signal);
          isSsl = true;
        }
        break;
      }
      case 'CancelRequest':
        return { type: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
      case 'StartupMessage':
        return { type: 'startup', socket: current, ssl: isSsl, protocolVersion: packet.protocolVersion, parameters: packet.parameters, rest };
    }
  }
}

function readPacket(socket: Socket, signal: AbortSignal): Promise<{ packet: StartupPacket; rest: Buffer }> {
  const reader = new StartupPacketReader();
  return new Promise((resolve, reject) => {
    const finish = (error: unknown, result?: { packet: StartupPacket; rest: Buffer }): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      signal.removeEventListener('abort', onAbort);
      socket.pause();
      if (result === undefined) reject(error);
      else resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const result = reader.push(chunk);
        if (result !== null) finish(null, result);
      } catch (error) {
        finish(error);
      }
    };
    const onClose = (): void => finish(new ConvoyError('CONNECTION_CLOSED', 'client closed the connection before the startup packet'));
    const onAbort = (): void => finish(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    socket.resume();
  });
}

function startTls(socket: Socket, context: SecureContext, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
    const onAbort = (): void => { tls.destroy(); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
    tls.once('secure', () => {
      signal.removeEventListener('abort', onAbort);
      tls.off('error', onError);
      resolve(tls);
    });
    const onError = (error: Error): void => {
      signal.removeEventListener('abort', onAbort);
      reject(new ConvoyError('SSL_FAILED', `could not accept SSL connection: ${error.message}`, { cause: error }));
    };
    tls.once('error', onError);
  });
}

function protocolViolation(message: string, detail?: string): ProtocolError {
  return new ProtocolError('MALFORMED_MESSAGE', message, { details: { sqlstate: '08P01', ...(detail === undefined ? {} : { detail }) } });
}
