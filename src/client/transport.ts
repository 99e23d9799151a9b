/**
 * Opens the byte stream to the server: TCP or a Unix-domain socket, then SSL negotiation per sslmode
 * (SSLRequest; 'S' → TLS over the same socket, 'N' → plain or refuse). Errors read like libpq's:
 *   connection to server at "127.0.0.1", port 1 failed: Connection refused
 * with libpq's hint. Unix sockets never use SSL, as in libpq.
 *
 * Does not speak the protocol beyond SSLRequest; startup and auth are startup.ts. Cancellation: `signal`
 * destroys whatever socket exists and rejects with the signal's reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, rootCertificates, type TLSSocket } from 'node:tls';
import { ConnectionError } from '../errors/index.ts';
import { SSL_REQUEST } from '../protocol/encode-frontend.ts';
import { slabReads } from './read-slabs.ts';
import type { ConnectionParams } from './types.ts';

const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
};

export function isUnixSocket(params: ConnectionParams): boolean {
  return params.host.startsWith('/');
}

export function socketPath(params: ConnectionParams): string {
  return `${params.host}/.s.PGSQL.${params.port}`;
}

/** The prefix of every connection failure message, as psql prints it. */
export function describeServer(params: ConnectionParams, address?: string): string {
  if (isUnixSocket(params)) return `connection to server on socket "${socketPath(params)}"`;
  const resolved = address !== undefined && address !== params.host ? ` (${address})` : '';
  return `connection to server at "${params.host}"${resolved}, port ${params.port}`;
}

export function wantsSsl(params: ConnectionParams): boolean {
  return !isUnixSocket(params) && !['disable', 'allow'].includes(params.sslmode);
}

export async function openTransport(params: ConnectionParams, useSsl: boolean, signal: AbortSignal): Promise<Socket> {
  const socket = await openSocket(params, signal);
  if (!useSsl) return socket;
  try {
    return await negotiateSsl(socket, params, signal);
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

function openSocket(params: ConnectionParams, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onread = slabReads(() => socket);
    const socket: Socket = isUnixSocket(params)
      ? netConnect({ path: socketPath(params), onread })
      : netConnect({ host: params.host, port: params.port, onread });
    socket.setNoDelay(true);
    const onAbort = (): void => fail(signal.reason);
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
    };
    const fail = (error: unknown): void => {
      done();
      socket.destroy();
      reject(error);
    };
    const onError = (error: NodeJS.ErrnoException): void => fail(connectError(params, error));
    const onConnect = (): void => {
      done();
      resolve(socket);
    };
    if (signal.aborted) return fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

function connectError(params: ConnectionParams, error: NodeJS.ErrnoException): ConnectionError {
  // with several addresses per name Node reports an AggregateError; the first attempt names the address
  const first = (error instanceof AggregateError ? error.errors[0] : error) as NodeJS.ErrnoException & { address?: string };
  if (first.code === 'ENOTFOUND' || first.code === 'EAI_AGAIN') {
    return new ConnectionError('CONNECT_FAILED', `could not translate host name "${params.host}" to address: ${first.code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}`, { cause: error });
  }
  const reason = ERRNO_TEXT[first.code ?? ''] ?? first.message;
  const hint = isUnixSocket(params)
    ? 'Is the server running locally and accepting connections on that socket?'
    : 'Is the server running on that host and accepting TCP/IP connections?';
  return new ConnectionError('CONNECT_FAILED', `${describeServer(params, first.address)} failed: ${reason}`, {
    cause: error, hint, details: { host: params.host, port: params.port, errno: first.code },
  });
}

/** One byte answers SSLRequest. Anything after it before our handshake could be injected: refuse it. */
function negotiateSsl(socket: Socket, params: ConnectionParams, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => finish(signal.reason);
    const finish = (error: unknown, result?: Socket): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (result === undefined) reject(error);
      else resolve(result);
    };
    // Only a failed TLS handshake may be retried in plain text (sslmode=prefer, as libpq): a peer that answered
    // SSLRequest with garbage is not a PostgreSQL server that lacks SSL.
    const failure = (code: 'SSL_FAILED' | 'SSL_REFUSED', reason: string, cause?: unknown, stage: 'negotiation' | 'handshake' = 'negotiation'): ConnectionError =>
      new ConnectionError(code, `${describeServer(params)} failed: ${reason}`, { ...(cause === undefined ? {} : { cause }), details: { sslStage: stage } });
    const onError = (error: Error): void => finish(failure('SSL_FAILED', `could not send SSL negotiation packet: ${error.message}`, error));
    const onClose = (): void => finish(failure('SSL_FAILED', 'server closed the connection during SSL negotiation'));
    const onData = (chunk: Buffer): void => {
      socket.removeListener('data', onData); // from here on the bytes belong to TLS or to the startup phase
      socket.pause();
      const answer = String.fromCharCode(chunk[0] as number);
      if (answer !== 'S' && answer !== 'N') return finish(failure('SSL_FAILED', `received invalid response to SSL negotiation: ${answer}`));
      if (chunk.length > 1) return finish(failure('SSL_FAILED', 'received unencrypted data after SSL response'));
      if (answer === 'N') {
        if (params.sslmode === 'prefer') return finish(null, socket);
        return finish(failure('SSL_REFUSED', 'server does not support SSL, but SSL was required'));
      }
      socket.removeListener('close', onClose);
      startTls(socket, params).then((tls) => finish(null, tls), (error: unknown) => finish(failure('SSL_FAILED', `SSL error: ${(error as Error).message}`, error, 'handshake')));
    };
    if (signal.aborted) return finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(SSL_REQUEST);
  });
}

/** require/prefer encrypt without checking the certificate (as libpq); verify-* check it against system CAs. */
function startTls(socket: Socket, params: ConnectionParams): Promise<TLSSocket> {
  const isVerifying = params.sslmode === 'verify-ca' || params.sslmode === 'verify-full';
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      host: params.host,
      rejectUnauthorized: isVerifying,
      ...(isVerifying ? { ca: trustedCertificates() } : {}),
      ...(params.sslmode === 'verify-full' && isIP(params.host) === 0 ? { servername: params.host } : {}),
      ...(params.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    });
    tls.once('secureConnect', () => {
      tls.removeListener('error', reject);
      resolve(tls);
    });
    tls.once('error', reject);
  });
}

/** Node's bundled roots, the system bundle and ~/.postgresql/root.crt (libpq's default sslrootcert). */
function trustedCertificates(): string[] {
  const rootCrt = join(homedir(), '.postgresql', 'root.crt');
  const paths = [SYSTEM_CA_BUNDLES.find((path) => existsSync(path)), existsSync(rootCrt) ? rootCrt : undefined];
  return [...rootCertificates, ...paths.filter((path) => path !== undefined).map((path) => readFileSync(path, 'utf8'))];
}
