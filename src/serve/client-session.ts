/**
 * One client connection from its first byte to its last: the startup packet (client-startup.ts), the protocol
 * negotiation (serve speaks 3.0 to the cluster, so it answers a newer minor itself), the checks
 * PostgreSQL cannot make because it only sees serve's address (a physical replication connection; the cluster's
 * own pg_hba.conf applied to the client's real address), the relayed login (auth-relay.ts), serve's own cancel key
 * in place of the cluster's, then the command session (command-session.ts).
 *
 * Every refusal is a FATAL ErrorResponse in PostgreSQL's words, then the connection closes; the cluster's own
 * refusals are forwarded as it sent them. Nothing a client sends can crash serve: every failure ends only this
 * connection, with a log line.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { FrameReader } from '../client/frame-reader.ts';
import { openTransport, wantsSsl } from '../client/transport.ts';
import type { ConnectionParams } from '../client/types.ts';
import { ConnectionError } from '../errors/index.ts';
import { BackendType, PROTOCOL_VERSION_3_0 } from '../protocol/codes.ts';
import { MAX_FRONTEND_FRAME_BYTES } from '../protocol/decode-frontend.ts';
import { encodeBackendKeyData, encodeErrorResponse, encodeNegotiateProtocolVersion } from '../protocol/encode-backend.ts';
import { encodeStartupMessage } from '../protocol/encode-frontend.ts';
import { parseBool } from '../protocol/parse-bool.ts';
import { forward, relayAuthentication, UpstreamRefused, WeakExchange } from './auth-relay.ts';
import type { CancelRegistry } from './cancel-registry.ts';
import { acceptStartup } from './client-startup.ts';
import { CommandSession, type CommandServices } from './command-session.ts';
import { errorFieldsOf } from './error-fields.ts';
import { exchangeSatisfies, hbaRefusal, matchHba, type HbaClient, type HbaLookups } from './hba/hba-match.ts';
import type { HbaRuleSet } from './hba/hba-rules.ts';
import { LoginDeadline } from './login-deadline.ts';
import { SocketWriter } from './socket-writer.ts';

export interface SessionServices extends CommandServices {
  readonly tls: SecureContext | null;
  readonly cancelKeys: CancelRegistry;
  readonly loadHba: () => Promise<{ readonly rules: HbaRuleSet; readonly lookups: HbaLookups }>;
  readonly authenticationTimeoutMs: number;
}

/** Startup parameters named so are protocol options, not settings (none exists in 3.0). */
const PROTOCOL_OPTION_PREFIX = '_pq_.';

export async function serveConnection(socket: Socket, services: SessionServices): Promise<void> {
  const address = socket.remoteAddress ?? '';
  const peer = `${address}:${socket.remotePort ?? 0}`;
  const deadline = new LoginDeadline(services.authenticationTimeoutMs, services.shutdown);
  const login = deadline.signal;
  let clientSocket = socket;
  let upstreamSocket: Socket | null = null;
  let who = peer;
  try {
    const startup = await acceptStartup(socket, services.tls, login);
    if (startup.type === 'cancel') {
      const found = services.cancelKeys.cancel(startup.processId, startup.secretKey);
      services.log.event('cancel-request', { client: peer, matched: found });
      return;
    }
    clientSocket = startup.socket;
    const clientWriter = new SocketWriter(clientSocket);
    const client = new FrameReader(clientSocket, {
      initial: startup.rest, maxFrameBytes: MAX_FRONTEND_FRAME_BYTES, onEnd: () => new ConnectionError('CONNECTION_CLOSED', 'client closed the connection'),
    });
    const user = startup.parameters.get('user') ?? '';
    who = `${user}@${peer}`;
    const replication = startup.parameters.get('replication');
    const mode = replicationMode(replication);
    if (mode === null) {
      services.log.event('connection-refused', { client: who, reason: 'invalid value for parameter "replication"' });
      await refuse(clientWriter, {
        severity: 'FATAL', code: '22023', message: `invalid value for parameter "replication": "${replication ?? ''}"`,
        hint: 'Valid values are: "false", 0, "true", 1, "database".',
      });
      return;
    }
    const negotiation = protocolNegotiation(startup.protocolVersion, startup.parameters);
    if (negotiation !== null) await clientWriter.send(negotiation);
    if (mode !== 'physical') {
      services.log.event('connection-refused', { client: who, reason: mode === 'logical' ? 'logical replication connection' : 'not a replication connection' });
      await refuse(clientWriter, {
        severity: 'FATAL', code: '0A000', message: 'pgconvoy serve accepts only physical replication connections',
        hint: 'Connect with replication=true (pg_basebackup and pg_receivewal do), or connect to the cluster itself for SQL.',
      });
      return;
    }
    const hbaClient: HbaClient = { address, user, ssl: startup.ssl };
    const { rules, lookups } = await services.loadHba();
    const verdict = await matchHba(rules, hbaClient, lookups);
    if (verdict.kind !== 'allow') {
      services.log.event('connection-refused', { client: who, reason: verdict.kind });
      await refuse(clientWriter, hbaRefusal(verdict, hbaClient));
      return;
    }
    const relayed = new Map([...startup.parameters].filter(([name]) => !name.startsWith(PROTOCOL_OPTION_PREFIX)));
    upstreamSocket = await openUpstream(services.upstreamParams, relayed, login);
    const upstreamWriter = new SocketWriter(upstreamSocket);
    const upstream = new FrameReader(upstreamSocket, {
      onEnd: (cause) => new ConnectionError('CONNECTION_CLOSED', `the cluster closed the connection${cause === null ? '' : `: ${cause.message}`}`),
    });
    const ends = { client, clientWriter, upstream, upstreamWriter };
    // a client that never answers the password prompt must not hold a connection to the cluster forever
    const onLoginTimeout = (): void => {
      upstream.fail(login.reason);
      client.fail(login.reason);
    };
    login.addEventListener('abort', onLoginTimeout, { once: true });
    let exchange;
    try {
      exchange = await relayAuthentication(ends, (candidate) => exchangeSatisfies(verdict.requires, candidate));
    } catch (error) {
      if (error instanceof WeakExchange) {
        services.log.event('connection-refused', { client: who, reason: `weak authentication (${error.exchange})` });
        await refuse(clientWriter, hbaRefusal(verdict, hbaClient, error.exchange));
        return;
      }
      throw error;
    }
    const target = new Deferred();
    const key = services.cancelKeys.register({ cancel: () => target.session?.cancel() });
    try {
      const upstreamKey = await finishLogin(ends, key);
      deadline.clear(); // the login signal can no longer abort, so onLoginTimeout is done with
      services.log.event('connection-authorized', { client: who, authentication: exchange, ssl: startup.ssl });
      target.session = new CommandSession(services, { ...ends, upstreamKey, who });
      await target.session.run();
    } finally {
      services.cancelKeys.unregister(key.processId);
    }
  } catch (error) {
    if (login.aborted) {
      // timed out or shutting down before the login finished: closed without a word, as PostgreSQL does
      const reason: unknown = login.reason;
      services.log.event('connection-closed', { client: who, reason: reason instanceof Error ? reason.message : String(reason) });
    } else if (!(error instanceof UpstreamRefused)) {
      services.log.event('connection-error', { client: who, error: error instanceof Error ? error.message : String(error) });
      if (!clientSocket.destroyed) await refuse(new SocketWriter(clientSocket), errorFieldsOf(error, 'FATAL'));
    }
  } finally {
    deadline.clear();
    upstreamSocket?.destroy();
    clientSocket.destroy();
    socket.destroy();
  }
}

/** The "replication" startup parameter as PostgreSQL reads it: "database" exactly, or parse_bool; null when it refuses the value. */
function replicationMode(value: string | undefined): 'physical' | 'logical' | 'none' | null {
  if (value === undefined) return 'none';
  if (value === 'database') return 'logical';
  const isOn = parseBool(value);
  if (isOn === null) return null;
  return isOn ? 'physical' : 'none';
}

/**
 * serve logs in to the cluster with protocol 3.0 and no protocol options, whatever the client asked for, so it
 * answers the negotiation itself, as PostgreSQL would: NegotiateProtocolVersion for a newer minor version or for
 * `_pq_.` options (which are then not relayed); null when the client asked for plain 3.0.
 */
function protocolNegotiation(protocolVersion: number, parameters: ReadonlyMap<string, string>): Buffer | null {
  const unrecognized = [...parameters.keys()].filter((name) => name.startsWith(PROTOCOL_OPTION_PREFIX));
  if (protocolVersion === PROTOCOL_VERSION_3_0 && unrecognized.length === 0) return null;
  return encodeNegotiateProtocolVersion(PROTOCOL_VERSION_3_0, unrecognized);
}

class Deferred {
  session: CommandSession | null = null;
}

/** The cluster's AuthenticationOk, ParameterStatus and ReadyForQuery go through; its BackendKeyData is swapped for ours. */
async function finishLogin(ends: { client: FrameReader; clientWriter: SocketWriter; upstream: FrameReader },
  key: { processId: number; secretKey: Buffer }): Promise<{ processId: number; secretKey: Buffer }> {
  await ends.clientWriter.send(Buffer.from([BackendType.Authentication, 0, 0, 0, 8, 0, 0, 0, 0]));
  let upstreamKey = { processId: 0, secretKey: Buffer.alloc(4) };
  for (;;) {
    const frame = await ends.upstream.read();
    if (frame.type === BackendType.BackendKeyData) {
      upstreamKey = { processId: frame.body.readInt32BE(0), secretKey: Buffer.from(frame.body.subarray(4)) };
      await ends.clientWriter.send(encodeBackendKeyData(key.processId, key.secretKey));
      continue;
    }
    await forward(ends.clientWriter, frame);
    if (frame.type === BackendType.ErrorResponse) throw new UpstreamRefused('CONNECT_FAILED', 'the cluster refused the session');
    if (frame.type === BackendType.ReadyForQuery) return upstreamKey;
  }
}

/** A connection to the cluster for this client, opened with the client's own startup parameters. */
async function openUpstream(params: ConnectionParams, parameters: ReadonlyMap<string, string>, signal: AbortSignal): Promise<Socket> {
  const socket = await openTransport(params, wantsSsl(params), signal);
  socket.write(encodeStartupMessage(Object.fromEntries(parameters)));
  return socket;
}

async function refuse(writer: SocketWriter, fields: Parameters<typeof encodeErrorResponse>[0]): Promise<void> {
  await writer.send(encodeErrorResponse(fields)).catch(() => {});
}
