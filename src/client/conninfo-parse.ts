/**
 * Parses libpq connection strings, both forms: URIs (postgresql://user:pw@host:port/db?key=value, with
 * percent-decoding) and keyword=value lists (values optionally single-quoted; backslash escapes the next
 * character in either case). Returns keyword → value in libpq's keyword names.
 *
 * Only the keywords pgconvoy honours are accepted. Other valid libpq keywords are refused by name rather than
 * silently ignored: quietly dropping e.g. `sslrootcert` would weaken what the user asked for. One host only.
 */
import { UsageError } from '../errors/index.ts';

export const SUPPORTED_KEYWORDS = new Set([
  'host', 'port', 'user', 'password', 'dbname', 'sslmode', 'application_name', 'fallback_application_name',
  'connect_timeout', 'passfile', 'replication',
]);

const OTHER_LIBPQ_KEYWORDS = new Set([
  'service', 'hostaddr', 'options', 'client_encoding', 'keepalives', 'keepalives_idle', 'keepalives_interval',
  'keepalives_count', 'tcp_user_timeout', 'sslnegotiation', 'sslcompression', 'sslcert', 'sslkey', 'sslcertmode',
  'sslpassword', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslsni', 'requirepeer', 'ssl_min_protocol_version',
  'ssl_max_protocol_version', 'gssencmode', 'krbsrvname', 'gsslib', 'gssdelegation', 'channel_binding',
  'target_session_attrs', 'load_balance_hosts', 'require_auth',
]);

const URI_PREFIX = /^postgres(?:ql)?:\/\//;

/** libpq's test: a URI, or anything containing '=' (otherwise the text is a plain database name). */
export function isConnectionString(text: string): boolean {
  return URI_PREFIX.test(text) || text.includes('=');
}

export function parseConninfo(text: string): Map<string, string> {
  const options = URI_PREFIX.test(text) ? parseUri(text) : parseKeywordValue(text);
  for (const keyword of options.keys()) {
    if (SUPPORTED_KEYWORDS.has(keyword)) continue;
    if (OTHER_LIBPQ_KEYWORDS.has(keyword)) {
      throw new UsageError('OPTION_INVALID', `connection option "${keyword}" is not supported by pgconvoy`);
    }
    throw new UsageError('OPTION_INVALID', `invalid connection option "${keyword}"`);
  }
  const host = options.get('host');
  if (host !== undefined && host.includes(',')) {
    throw new UsageError('OPTION_INVALID', `multiple hosts are not supported: "${host}"`);
  }
  return options;
}

function parseKeywordValue(text: string): Map<string, string> {
  const options = new Map<string, string>();
  let at = 0;
  const skipSpace = (): void => {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
  };
  for (skipSpace(); at < text.length; skipSpace()) {
    const nameStart = at;
    while (at < text.length && text[at] !== '=' && !/\s/.test(text[at] as string)) at++;
    const name = text.slice(nameStart, at);
    skipSpace();
    if (text[at] !== '=') {
      throw new UsageError('OPTION_INVALID', `missing "=" after "${name}" in connection info string`);
    }
    at++;
    skipSpace();
    let value = '';
    if (text[at] === "'") {
      for (at++; ; at++) {
        if (at >= text.length) throw new UsageError('OPTION_INVALID', 'unterminated quoted string in connection info string');
        const char = text[at] as string;
        if (char === "'") break;
        if (char === '\\' && at + 1 < text.length) value += text[++at];
        else value += char;
      }
      at++;
    } else {
      for (; at < text.length && !/\s/.test(text[at] as string); at++) {
        const char = text[at] as string;
        value += char === '\\' && at + 1 < text.length ? text[++at] : char;
      }
    }
    options.set(name, value);
  }
  return options;
}

function parseUri(text: string): Map<string, string> {
  const options = new Map<string, string>();
  let rest = text.replace(URI_PREFIX, '');
  const queryAt = rest.indexOf('?');
  const query = queryAt < 0 ? '' : rest.slice(queryAt + 1);
  if (queryAt >= 0) rest = rest.slice(0, queryAt);
  const slashAt = rest.indexOf('/');
  const authority = slashAt < 0 ? rest : rest.slice(0, slashAt);
  if (slashAt >= 0 && slashAt + 1 < rest.length) options.set('dbname', percentDecode(rest.slice(slashAt + 1)));
  const atSign = authority.lastIndexOf('@');
  if (atSign >= 0) {
    const userInfo = authority.slice(0, atSign);
    const colon = userInfo.indexOf(':');
    const user = colon < 0 ? userInfo : userInfo.slice(0, colon);
    if (user !== '') options.set('user', percentDecode(user));
    if (colon >= 0) options.set('password', percentDecode(userInfo.slice(colon + 1)));
  }
  parseHostPort(authority.slice(atSign + 1), options, text);
  if (query !== '') {
    for (const pair of query.split('&')) {
      const equals = pair.indexOf('=');
      if (equals <= 0) {
        throw new UsageError('OPTION_INVALID', `missing key/value separator "=" in URI query parameter: "${pair}"`);
      }
      let key = percentDecode(pair.slice(0, equals));
      let value = percentDecode(pair.slice(equals + 1));
      if (key === 'ssl' && value === 'true') [key, value] = ['sslmode', 'require']; // JDBC-style alias libpq accepts
      options.set(key, value);
    }
  }
  return options;
}

function parseHostPort(hostPort: string, options: Map<string, string>, uri: string): void {
  let host: string;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw new UsageError('OPTION_INVALID', `end of string reached when looking for matching "]" in IPv6 host address in URI: "${uri}"`);
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new UsageError('OPTION_INVALID', `unexpected character "${after[0]}" after IPv6 host address in URI: "${uri}"`);
    }
    if (after !== '') port = after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) port = hostPort.slice(colon + 1);
    host = percentDecode(host);
  }
  if (host !== '') options.set('host', host);
  if (port !== undefined && port !== '') options.set('port', percentDecode(port));
}

function percentDecode(text: string): string {
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(text)) {
    throw new UsageError('OPTION_INVALID', `invalid percent-encoded token: "${text}"`);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    throw new UsageError('OPTION_INVALID', `invalid percent-encoded token: "${text}"`);
  }
  if (decoded.includes('\0')) throw new UsageError('OPTION_INVALID', `forbidden value %00 in percent-encoded value: "${text}"`);
  return decoded;
}
