/**
 * The startup phase on an open transport: StartupMessage, the authentication exchange (SCRAM-SHA-256, MD5,
 * cleartext; anything else is AUTH_METHOD_UNSUPPORTED), then ParameterStatus / BackendKeyData until the
 * first ReadyForQuery.
 *
 * An ErrorResponse here keeps the server's words: 28P01/28000 (bad password, no pg_hba.conf entry) and
 * 42501 (no REPLICATION attribute) are AUTH_FAILED, anything else CONNECT_FAILED, with the ServerError as
 * cause. Once SCRAM has started, AuthenticationOk is accepted only after the server's signature was verified,
 * so a server cannot skip proving that it knows the password.
 */
import { cleartextPasswordResponse } from '../auth/cleartext.ts';
import { md5PasswordResponse } from '../auth/md5.ts';
import {
  SCRAM_SHA_256, scramClientFinal, scramClientFirst, scramVerifyServerFinal, type ScramClientFinal, type ScramClientFirst,
} from '../auth/scram-sha-256.ts';
import { ConnectionError, ProtocolError, ServerError, type ServerErrorFields } from '../errors/index.ts';
import {
  encodePasswordMessage, encodeSASLInitialResponse, encodeSASLResponse, encodeStartupMessage,
} from '../protocol/encode-frontend.ts';
import type { BackendMessage } from '../protocol/messages.ts';
import type { ConnectionParams } from './types.ts';

export interface StartupResult {
  readonly parameters: Map<string, string>;
  readonly backendPid: number;
  /** BackendKeyData's secret, needed to cancel this session's work. */
  readonly secretKey: Buffer;
}

export interface StartupIo {
  read(): Promise<BackendMessage>;
  write(frame: Buffer): void;
  /** e.g. `connection to server at "127.0.0.1", port 5432`, the prefix of every failure message. */
  readonly serverText: string;
}

const AUTH_SQLSTATES = new Set(['28P01', '28000', '42501']);

export async function runStartup(io: StartupIo, params: ConnectionParams, password: string | undefined): Promise<StartupResult> {
  io.write(encodeStartupMessage({
    user: params.user,
    database: params.database,
    ...(params.replication === undefined ? {} : { replication: params.replication }),
    application_name: params.applicationName,
    client_encoding: 'UTF8',
    ...params.startupParameters,
  }));
  await authenticate(io, params, password);
  const parameters = new Map<string, string>();
  let backendPid = 0;
  let secretKey: Buffer = Buffer.alloc(0);
  for (;;) {
    const message = await io.read();
    switch (message.type) {
      case 'ParameterStatus': parameters.set(message.name, message.value); break;
      case 'BackendKeyData': backendPid = message.processId; secretKey = message.secretKey; break;
      case 'NoticeResponse': break;
      case 'ErrorResponse': throw startupError(io, message.fields);
      case 'ReadyForQuery': return { parameters, backendPid, secretKey };
      default: throw unexpected(message);
    }
  }
}

async function authenticate(io: StartupIo, params: ConnectionParams, password: string | undefined): Promise<void> {
  let scramFirst: ScramClientFirst | null = null;
  let scramFinal: ScramClientFinal | null = null;
  let isScramVerified = false;
  const needPassword = (): string => {
    if (password !== undefined) return password;
    throw new ConnectionError('PASSWORD_REQUIRED', `${io.serverText} failed: fe_sendauth: no password supplied`, {
      hint: 'Give a password with -W, PGPASSWORD, the connection string or a password file.',
    });
  };
  for (;;) {
    const message = await io.read();
    switch (message.type) {
      case 'AuthenticationOk':
        if (scramFirst !== null && !isScramVerified) {
          throw new ConnectionError('AUTH_FAILED', `${io.serverText} failed: server accepted the connection before completing SCRAM authentication`);
        }
        return;
      case 'AuthenticationCleartextPassword':
        io.write(encodePasswordMessage(cleartextPasswordResponse(needPassword())));
        break;
      case 'AuthenticationMD5Password':
        io.write(encodePasswordMessage(md5PasswordResponse(params.user, needPassword(), message.salt)));
        break;
      case 'AuthenticationSASL':
        if (!message.mechanisms.includes(SCRAM_SHA_256)) {
          throw new ConnectionError('AUTH_METHOD_UNSUPPORTED', `${io.serverText} failed: none of the server's SASL authentication mechanisms are supported (${message.mechanisms.join(', ')})`);
        }
        needPassword();
        scramFirst = scramClientFirst();
        io.write(encodeSASLInitialResponse(SCRAM_SHA_256, scramFirst.message));
        break;
      case 'AuthenticationSASLContinue':
        if (scramFirst === null || scramFinal !== null) throw unexpected(message);
        scramFinal = scramClientFinal(scramFirst, message.data, needPassword());
        io.write(encodeSASLResponse(scramFinal.message));
        break;
      case 'AuthenticationSASLFinal':
        if (scramFinal === null || isScramVerified) throw unexpected(message);
        scramVerifyServerFinal(scramFinal, message.data);
        isScramVerified = true;
        break;
      case 'AuthenticationUnsupported':
        throw new ConnectionError('AUTH_METHOD_UNSUPPORTED', `${io.serverText} failed: authentication method ${message.code} not supported`, {
          details: { authenticationCode: message.code },
        });
      case 'NegotiateProtocolVersion': break; // we ask for 3.0 without extensions: nothing to downgrade
      case 'NoticeResponse': break;
      case 'ErrorResponse': throw startupError(io, message.fields);
      default: throw unexpected(message);
    }
  }
}

function startupError(io: StartupIo, fields: ServerErrorFields): ConnectionError {
  const code = AUTH_SQLSTATES.has(fields.code) ? 'AUTH_FAILED' : 'CONNECT_FAILED';
  return new ConnectionError(code, `${io.serverText} failed: ${fields.message}`, {
    cause: new ServerError(fields),
    ...(fields.hint === undefined ? {} : { hint: fields.hint }),
    details: { sqlstate: fields.code, severity: fields.severity, detail: fields.detail },
  });
}

function unexpected(message: BackendMessage): ProtocolError {
  return new ProtocolError('UNEXPECTED_MESSAGE', `unexpected message "${message.type}" during startup`);
}
