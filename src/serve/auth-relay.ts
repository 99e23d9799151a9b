/**
 * The relayed login: the cluster's authentication requests go to the client and the client's answers back to
 * the cluster, unchanged, so PostgreSQL itself checks the password (SCRAM-SHA-256, MD5 or cleartext) and the
 * REPLICATION privilege, with its own error messages. Two things are changed, and only these:
 * - SCRAM-SHA-256-PLUS is removed from the mechanisms offered: channel binding ties the exchange to one TLS
 *   connection, and the client's connection is not the cluster's.
 * - AuthenticationOk is held back until the caller has checked that the exchange that really happened is as
 *   strong as the client's pg_hba.conf line demands (`exchange`: what the cluster asked for), because the
 *   cluster only sees serve's address and may trust it.
 * Methods that cannot cross a relay (GSSAPI, SSPI, Kerberos) are refused.
 */
import { ConnectionError } from '../errors/index.ts';
import type { FrameReader } from '../client/frame-reader.ts';
import type { PasswordStrength } from './hba/hba-match.ts';
import { AuthenticationCode, BackendType, FrontendType } from '../protocol/codes.ts';
import { decodeBackendMessage } from '../protocol/decode-backend.ts';
import { decodeSASLInitialResponse } from '../protocol/decode-frontend.ts';
import { encodeAuthenticationSASL } from '../protocol/encode-backend.ts';
import type { Frame } from '../protocol/framer.ts';
import { SCRAM_SHA_256 } from '../auth/scram-sha-256.ts';
import type { SocketWriter } from './socket-writer.ts';

export interface RelayEnds {
  readonly client: FrameReader;
  readonly clientWriter: SocketWriter;
  readonly upstream: FrameReader;
  readonly upstreamWriter: SocketWriter;
}

/** Thrown after the cluster's own ErrorResponse was forwarded: nothing more to tell the client. */
export class UpstreamRefused extends ConnectionError {}

/** The cluster asked for (or accepted) less than the client's pg_hba.conf line requires. */
export class WeakExchange extends ConnectionError {
  readonly exchange: PasswordStrength;

  constructor(exchange: PasswordStrength) {
    super('AUTH_FAILED', `the cluster's authentication (${exchange}) is weaker than pg_hba.conf requires for this client`);
    this.exchange = exchange;
  }
}

/**
 * Runs the exchange up to the cluster's AuthenticationOk (not yet forwarded); returns what the cluster asked for.
 * `isEnough` judges an exchange against the client's pg_hba.conf line: a weaker request is refused before the
 * client sends any password (WeakExchange), and so is an AuthenticationOk that came too easily. Throws
 * ConnectionError (AUTH_METHOD_UNSUPPORTED) for a method that cannot be relayed, UpstreamRefused when the cluster
 * refused (its ErrorResponse already forwarded).
 */
export async function relayAuthentication(ends: RelayEnds, isEnough: (exchange: PasswordStrength) => boolean): Promise<PasswordStrength> {
  let exchange: PasswordStrength = 'none';
  let sawSaslFinal = false;
  for (;;) {
    const frame = await ends.upstream.read();
    if (frame.type === BackendType.ErrorResponse) {
      await forward(ends.clientWriter, frame);
      throw new UpstreamRefused('AUTH_FAILED', 'the cluster refused the login');
    }
    if (frame.type !== BackendType.Authentication) {
      if (frame.type === BackendType.NoticeResponse || frame.type === BackendType.NegotiateProtocolVersion) {
        await forward(ends.clientWriter, frame);
        continue;
      }
      throw new ConnectionError('CONNECT_FAILED', `unexpected message "${String.fromCharCode(frame.type)}" from the cluster during authentication`);
    }
    const code = frame.body.readInt32BE(0);
    switch (code) {
      case AuthenticationCode.Ok:
        if (exchange === 'scram-sha-256' && !sawSaslFinal) exchange = 'none';
        if (!isEnough(exchange)) throw new WeakExchange(exchange);
        return exchange;
      case AuthenticationCode.CleartextPassword:
      case AuthenticationCode.MD5Password:
        exchange = code === AuthenticationCode.MD5Password ? 'md5' : 'password';
        if (!isEnough(exchange)) throw new WeakExchange(exchange);
        await forward(ends.clientWriter, frame);
        await forwardPassword(ends);
        break;
      case AuthenticationCode.SASL: {
        const message = decodeBackendMessage(frame);
        const mechanisms = message.type === 'AuthenticationSASL' ? message.mechanisms.filter((name) => !name.endsWith('-PLUS')) : [];
        if (!mechanisms.includes(SCRAM_SHA_256)) {
          throw new ConnectionError('AUTH_METHOD_UNSUPPORTED', 'none of the cluster\'s SASL mechanisms can be relayed (channel binding cannot cross serve)');
        }
        exchange = 'scram-sha-256';
        await ends.clientWriter.send(encodeAuthenticationSASL(mechanisms));
        const answer = await clientPassword(ends);
        if (decodeSASLInitialResponse(answer.body).mechanism !== SCRAM_SHA_256) {
          throw new ConnectionError('AUTH_FAILED', 'client selected an invalid SASL authentication mechanism');
        }
        await forward(ends.upstreamWriter, answer);
        break;
      }
      case AuthenticationCode.SASLContinue:
        await forward(ends.clientWriter, frame);
        await forwardPassword(ends);
        break;
      case AuthenticationCode.SASLFinal:
        sawSaslFinal = true;
        await forward(ends.clientWriter, frame);
        break;
      default:
        throw new ConnectionError('AUTH_METHOD_UNSUPPORTED', `the cluster asked for authentication method ${code}, which serve cannot relay`);
    }
  }
}

async function forwardPassword(ends: RelayEnds): Promise<void> {
  await forward(ends.upstreamWriter, await clientPassword(ends));
}

async function clientPassword(ends: RelayEnds): Promise<Frame> {
  const frame = await ends.client.read();
  if (frame.type !== FrontendType.PasswordMessage) {
    throw new ConnectionError('AUTH_FAILED', `expected password response, got message type ${frame.type}`, { details: { sqlstate: '08P01' } });
  }
  return frame;
}

/** Passes a frame on unchanged: its type byte and length, then the body (a view, not copied). */
export function forward(writer: SocketWriter, frame: Frame): Promise<void> {
  const header = Buffer.allocUnsafe(5);
  header[0] = frame.type;
  header.writeInt32BE(frame.body.length + 4, 1);
  return writer.send(header, frame.body);
}
