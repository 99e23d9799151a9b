/**
 * The outside facts pg_hba.conf matching needs, for production: role membership and regular expressions from
 * the cluster (through serve's own SQL session), host names from the system resolver, serve's own interfaces.
 * Nothing here decides a match (hba-match.ts does). Lookups never fail a connection for a missing role or
 * name: PostgreSQL answers "no" to those, and so do these.
 *
 * SQL is built from literals, never from identifiers: E'' strings, so backslashes mean the same whatever
 * standard_conforming_strings says.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { HbaLookups } from './hba-match.ts';

export interface SqlRunner {
  /** rows of text values, as serve's admin session returns them */
  query(sql: string): Promise<Array<Array<string | null>>>;
}

export function productionLookups({ query }: SqlRunner): HbaLookups {
  const askBoolean = async (sql: string): Promise<boolean> => (await query(sql))[0]?.[0] === 't';
  return {
    isMember: async (user, role) => {
      // no role can have a NUL in its name
      if (user.includes('\0') || role.includes('\0')) return false;
      return askBoolean(membershipQuery(user, role));
    },
    matchesRegex: async (text, pattern) => {
      if (text.includes('\0') || pattern.includes('\0')) return false;
      // hba.c compiles these as advanced regular expressions under the C collation; `~` is the same engine
      return askBoolean(`select ${sqlLiteral(text)} ~ (${sqlLiteral(pattern)} collate "C")`);
    },
    hostnameOf: async (address) => confirmedHostnames(address),
    interfaceNetworks: () => Object.values(networkInterfaces()).flatMap((entries) =>
      (entries ?? []).map((entry) => ({ address: entry.address, netmask: entry.netmask }))),
  };
}

/**
 * hba.c's is_member: the user itself or any role it belongs to, directly or through others, whatever the
 * INHERIT settings; unlike pg_has_role, being superuser does not make one a member. A role that does not
 * exist yields an empty set, not an error.
 */
export function membershipQuery(user: string, role: string): string {
  return [
    'with recursive memberships(oid) as (',
    `  select oid from pg_catalog.pg_roles where rolname = ${sqlLiteral(user)}`,
    '  union',
    '  select m.roleid from pg_catalog.pg_auth_members m join memberships on m.member = memberships.oid',
    ')',
    `select exists (select 1 from memberships join pg_catalog.pg_roles r using (oid) where r.rolname = ${sqlLiteral(role)})`,
  ].join('\n');
}

export function sqlLiteral(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * As PostgreSQL: the name the resolver gives for the address (getnameinfo), kept only if a forward lookup of
 * that name (getaddrinfo) yields the address again.
 */
async function confirmedHostnames(address: string): Promise<string[]> {
  try {
    const { hostname } = await lookupService(address, 0);
    if (isIP(hostname) !== 0) return [];
    const forward = await lookup(hostname, { all: true });
    return forward.some((entry) => entry.address.toLowerCase() === address.toLowerCase()) ? [hostname] : [];
  } catch {
    return [];
  }
}
