/**
 * pg_hba.conf applied by serve to the client's real address, since the cluster only ever sees serve's. The
 * connection is always a physical replication connection over TCP, so matching follows PostgreSQL's check_hba
 * for exactly that case: `local` lines never apply, `hostgssenc` never does (serve offers no GSS encryption),
 * the only database token that matches is the `replication` keyword, and the first line that matches decides.
 * Also owned here: which relayed password exchange satisfies a line, and the words of each refusal.
 *
 * Not done here: reading rules (hba-rules.ts) or talking to the catalog and DNS (hba-lookups.ts).
 * A line that demands what a relay cannot give (certificate, peer, ident, GSSAPI, LDAP... or `clientcert`) is
 * `unsupported`, never skipped: skipping it could let a later, looser line decide.
 */
import { isIPv6 } from 'node:net';
import { invariant, ProtocolError, type ServerErrorFields } from '../../errors/index.ts';
import type { HbaRule, HbaRuleSet } from './hba-rules.ts';

export interface HbaClient {
  /** the peer's IP address as the socket reports it: v4, v6, or v4 mapped into v6 (`::ffff:1.2.3.4`) */
  readonly address: string;
  readonly user: string;
  readonly ssl: boolean;
}

export interface HbaLookups {
  /** direct or indirect membership, the user itself included, superuser status not counting (as hba.c's is_member) */
  isMember(user: string, role: string): Promise<boolean>;
  /** the address's host names that a forward lookup confirms (empty when none) */
  hostnameOf(address: string): Promise<string[]>;
  /** serve's own interface addresses, for samehost and samenet */
  interfaceNetworks(): Array<{ address: string; netmask: string }>;
  /** PostgreSQL 16+ `/regex` user tokens: a match with PostgreSQL's own regular expressions */
  matchesRegex(text: string, pattern: string): Promise<boolean>;
}

/** What a password exchange proves, weakest first. */
export type PasswordStrength = 'none' | 'password' | 'md5' | 'scram-sha-256';

export type HbaVerdict =
  | { readonly kind: 'allow'; readonly line: number; readonly method: string; readonly requires: PasswordStrength }
  | { readonly kind: 'reject'; readonly line: number }
  | { readonly kind: 'no-match' }
  | { readonly kind: 'unsupported'; readonly line: number; readonly method: string; readonly option?: string };

const STRENGTH_RANK: Readonly<Record<PasswordStrength, number>> = { none: 0, password: 1, md5: 2, 'scram-sha-256': 3 };

/** Methods serve can relay. An `md5` line lets the server run SCRAM when the stored secret is SCRAM, hence a floor. */
const METHOD_REQUIRES: ReadonlyMap<string, PasswordStrength> = new Map<string, PasswordStrength>([
  ['trust', 'none'], ['password', 'password'], ['md5', 'md5'], ['scram-sha-256', 'scram-sha-256'],
]);

export async function matchHba(rules: HbaRuleSet, client: HbaClient, lookups: HbaLookups): Promise<HbaVerdict> {
  const from = clientIp(client.address);
  // one lookup per connection, and only if some line names a host, as PostgreSQL does
  let names: Promise<string[]> | undefined;
  const hostnames = (): Promise<string[]> => (names ??= from === null ? Promise.resolve([]) : lookups.hostnameOf(displayAddress(client.address)));
  for (const rule of rules.rules) {
    if (!typeMatches(rule.type, client.ssl)) continue;
    if (!rule.databases.includes('replication')) continue;
    if (!(await addressMatches(rule, from, lookups, hostnames))) continue;
    if (!(await userMatches(rule.users, client.user, lookups))) continue;
    return verdictOf(rule);
  }
  return { kind: 'no-match' };
}

/** Whether the exchange the cluster ran with serve is at least as strong as the client's line demands. */
export function exchangeSatisfies(requires: PasswordStrength, exchange: PasswordStrength): boolean {
  return STRENGTH_RANK[exchange] >= STRENGTH_RANK[requires];
}

/**
 * The FATAL ErrorResponse for a refused client. PostgreSQL's own words for no-match and reject (15 to 18);
 * for an allowed line the cluster's exchange fell short of (`exchange` given), the password failure a client
 * would see, with the reason in detail and hint, since the client's password was never checked.
 */
export function hbaRefusal(verdict: HbaVerdict, client: HbaClient, exchange?: PasswordStrength): ServerErrorFields {
  const host = displayAddress(client.address);
  const encryption = client.ssl ? 'SSL encryption' : 'no encryption';
  switch (verdict.kind) {
    case 'no-match':
      return {
        severity: 'FATAL', code: '28000',
        message: `no pg_hba.conf entry for replication connection from host "${host}", user "${client.user}", ${encryption}`,
      };
    case 'reject':
      return {
        severity: 'FATAL', code: '28000',
        message: `pg_hba.conf rejects replication connection for host "${host}", user "${client.user}", ${encryption}`,
      };
    case 'unsupported':
      return {
        severity: 'FATAL', code: '28000',
        message: verdict.option === undefined
          ? `authentication method "${verdict.method}" of pg_hba.conf line ${verdict.line} cannot be relayed by pgconvoy serve`
          : `option "${verdict.option}" of pg_hba.conf line ${verdict.line} cannot be relayed by pgconvoy serve`,
        hint: 'pgconvoy serve relays only trust, password, md5 and scram-sha-256 logins. Give this client a line with one of '
          + `those ahead of line ${verdict.line}, or let it connect to the cluster directly.`,
      };
    case 'allow': {
      invariant(exchange !== undefined, 'hbaRefusal of an allowed connection needs the exchange that fell short');
      const asked = exchange === 'none' ? 'no password at all' : `"${exchange}"`;
      return {
        severity: 'FATAL', code: '28P01',
        message: `password authentication failed for user "${client.user}"`,
        detail: `pg_hba.conf line ${verdict.line} requires "${verdict.method}" for this connection, but the cluster asked pgconvoy serve for ${asked}.`,
        hint: 'The cluster checks the password only as strictly as its pg_hba.conf line for pgconvoy serve\'s own address says. '
          + `Give that address a line with "${verdict.method}" or stronger, ahead of any looser one.`,
      };
    }
  }
}

function verdictOf(rule: HbaRule): HbaVerdict {
  const line = rule.lineNumber;
  if (rule.authMethod === 'reject') return { kind: 'reject', line };
  const requires = METHOD_REQUIRES.get(rule.authMethod);
  if (requires === undefined) return { kind: 'unsupported', line, method: rule.authMethod };
  // serve terminates the client's TLS without asking for a certificate, so a clientcert demand cannot be met
  const clientcert = rule.options.find((option) => option.startsWith('clientcert='));
  if (clientcert !== undefined) return { kind: 'unsupported', line, method: rule.authMethod, option: clientcert };
  return { kind: 'allow', line, method: rule.authMethod, requires };
}

function typeMatches(type: HbaRule['type'], ssl: boolean): boolean {
  switch (type) {
    case 'local': return false;
    case 'host': return true;
    case 'hostssl': return ssl;
    case 'hostnossl': return !ssl;
    case 'hostgssenc': return false;
    case 'hostnogssenc': return true;
  }
}

async function addressMatches(rule: HbaRule, from: Ip | null, lookups: HbaLookups, hostnames: () => Promise<string[]>): Promise<boolean> {
  if (rule.netmask !== null) {
    const network = ruleIp(rule, rule.address);
    const mask = ruleIp(rule, rule.netmask);
    if (network.family !== mask.family) throw unreadable(rule, `${rule.address ?? ''}/${rule.netmask}`);
    return from !== null && inNetwork(from, network, mask);
  }
  switch (rule.address) {
    case null: throw unreadable(rule, '');
    case 'all': return true;
    case 'samehost':
    case 'samenet':
      return from !== null && lookups.interfaceNetworks().some((network) => {
        const own = clientIp(network.address);
        if (own === null || own.family !== from.family) return false;
        if (rule.address === 'samehost') return equalBytes(own.bytes, from.bytes);
        const mask = parseIp(network.netmask);
        return mask !== null && inNetwork(from, own, mask);
      });
    default: {
      const pattern = rule.address.toLowerCase();
      return (await hostnames()).some((name) => {
        const lower = name.toLowerCase();
        return pattern.startsWith('.') ? lower.endsWith(pattern) : lower === pattern;
      });
    }
  }
}

async function userMatches(tokens: readonly string[], user: string, lookups: HbaLookups): Promise<boolean> {
  for (const token of tokens) {
    if (token === 'all' || token === user) return true;
    if (token.startsWith('+') && token.length > 1 && await lookups.isMember(user, token.slice(1))) return true;
    if (token.startsWith('/') && token.length > 1 && await lookups.matchesRegex(user, token.slice(1))) return true;
  }
  return false;
}

interface Ip {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** The client's address as PostgreSQL would see it: its IPv6 sockets are v6-only, so v4 clients arrive as v4. */
function clientIp(address: string): Ip | null {
  const ip = parseIp(address);
  if (ip === null || ip.family === 4 || !isV4Mapped(ip.bytes)) return ip;
  return { family: 4, bytes: ip.bytes.slice(12) };
}

/** The address in refusals and host name lookups: mapped v4 addresses in dotted form, others as given. */
function displayAddress(address: string): string {
  const ip = parseIp(address);
  return ip !== null && ip.family === 6 && isV4Mapped(ip.bytes) ? ip.bytes.slice(12).join('.') : address;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Dotted-quad IPv4 or any IPv6 form (`::`, embedded v4 tail, `%zone` ignored as PostgreSQL's comparison does). */
function parseIp(text: string): Ip | null {
  const bare = text.split('%', 1)[0] ?? '';
  const v4 = parseIpv4(bare);
  if (v4 !== null) return { family: 4, bytes: v4 };
  if (!isIPv6(bare)) return null;
  const [head = '', tail] = bare.split('::');
  const front = ipv6Groups(head);
  const back = tail === undefined ? [] : ipv6Groups(tail);
  const groups = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => { bytes[2 * i] = group >> 8; bytes[2 * i + 1] = group & 0xff; });
  return { family: 6, bytes };
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return null;
  return Uint8Array.from(parts, Number);
}

function ipv6Groups(part: string): number[] {
  if (part === '') return [];
  return part.split(':').flatMap((group) => {
    if (!group.includes('.')) return [parseInt(group, 16)];
    const [a = 0, b = 0, c = 0, d = 0] = parseIpv4(group) ?? [];
    return [(a << 8) | b, (c << 8) | d];
  });
}

function inNetwork(ip: Ip, network: Ip, mask: Ip): boolean {
  if (ip.family !== network.family || mask.family !== network.family) return false;
  return ip.bytes.every((byte, i) => ((byte ^ (network.bytes[i] ?? 0)) & (mask.bytes[i] ?? 0)) === 0);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function ruleIp(rule: HbaRule, text: string | null): Ip {
  const ip = text === null ? null : parseIp(text);
  if (ip === null) throw unreadable(rule, text ?? '');
  return ip;
}

function unreadable(rule: HbaRule, address: string): ProtocolError {
  return new ProtocolError('MALFORMED_MESSAGE', `pg_hba.conf line ${rule.lineNumber} has an address pgconvoy serve cannot read: "${address}"`);
}
