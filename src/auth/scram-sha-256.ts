/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as pure steps: client-first, client-final from the server-first, and
 * verification of the server-final. No channel binding: the GS2 header is "n,," (the client does not support
 * it), which PostgreSQL accepts unless the role demands SCRAM-SHA-256-PLUS.
 *
 * The user name is sent empty by default, as libpq does: PostgreSQL takes the name from the startup packet.
 * The server's signature is always verified, so a server that does not know the password cannot pretend to.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConnectionError, ProtocolError } from '../errors/index.ts';
import { saslPrep } from './saslprep.ts';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
const GS2_HEADER = 'n,,';
const NONCE_BYTES = 18;
const KEY_BYTES = 32;

export interface ScramClientFirst {
  readonly clientNonce: string;
  readonly clientFirstBare: string;
  /** Payload of SASLInitialResponse. */
  readonly message: Buffer;
}

export interface ScramClientFinal {
  /** Payload of SASLResponse. */
  readonly message: Buffer;
  readonly expectedServerSignature: Buffer;
}

export function scramClientFirst(options: { readonly nonce?: string; readonly username?: string } = {}): ScramClientFirst {
  const clientNonce = options.nonce ?? randomBytes(NONCE_BYTES).toString('base64');
  const clientFirstBare = `n=${escapeSaslName(options.username ?? '')},r=${clientNonce}`;
  return { clientNonce, clientFirstBare, message: Buffer.from(GS2_HEADER + clientFirstBare, 'utf8') };
}

export function scramClientFinal(first: ScramClientFirst, serverFirst: Buffer, password: string): ScramClientFinal {
  const serverFirstText = serverFirst.toString('utf8');
  const { nonce, salt, iterations } = parseServerFirst(serverFirstText, first.clientNonce);
  const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
  const authMessage = `${first.clientFirstBare},${serverFirstText},${withoutProof}`;
  const saltedPassword = pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const clientSignature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(KEY_BYTES);
  for (let index = 0; index < KEY_BYTES; index++) proof[index] = (clientKey[index] as number) ^ (clientSignature[index] as number);
  const serverKey = hmac(saltedPassword, 'Server Key');
  return {
    message: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'),
    expectedServerSignature: hmac(serverKey, authMessage),
  };
}

/** Throws AUTH_FAILED unless the server proved it knows the password. */
export function scramVerifyServerFinal(final: ScramClientFinal, serverFinal: Buffer): void {
  const text = serverFinal.toString('utf8');
  if (text.startsWith('e=')) {
    throw new ConnectionError('AUTH_FAILED', `SCRAM authentication failed: server reported "${text.slice(2)}"`);
  }
  const match = /^v=([A-Za-z0-9+/]+={0,2})(,.*)?$/.exec(text);
  if (match === null) throw malformed('server-final-message');
  const signature = Buffer.from(match[1] as string, 'base64');
  if (signature.length !== final.expectedServerSignature.length || !timingSafeEqual(signature, final.expectedServerSignature)) {
    throw new ConnectionError('AUTH_FAILED', 'incorrect server signature in SCRAM exchange', {
      hint: 'The server could not prove that it knows the password; it may not be the server you meant to reach.',
    });
  }
}

function parseServerFirst(text: string, clientNonce: string): { nonce: string; salt: Buffer; iterations: number } {
  // mandatory extensions ("m=") come first and are not supported; everything else is r, s, i in this order
  const match = /^r=([\x21-\x2b\x2d-\x7e]+),s=([A-Za-z0-9+/]+={0,2}),i=([1-9][0-9]{0,9})(,.*)?$/.exec(text);
  if (match === null) throw malformed('server-first-message');
  const nonce = match[1] as string;
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
    throw new ConnectionError('AUTH_FAILED', 'invalid SCRAM nonce from server: it does not extend the client nonce');
  }
  const iterations = Number(match[3]);
  if (iterations > 0x7fffffff) throw malformed('server-first-message');
  return { nonce, salt: Buffer.from(match[2] as string, 'base64'), iterations };
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function escapeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function malformed(what: string): ProtocolError {
  return new ProtocolError('MALFORMED_MESSAGE', `malformed SCRAM ${what} from server`);
}
