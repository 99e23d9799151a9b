/**
 * Version 2 manifests (17+) record the cluster's system identifier; pg_verifybackup compares it with the one
 * in global/pg_control so a manifest cannot vouch for another cluster's files. pg_control is in the server's
 * byte order; the identifier is its first field (little-endian on every platform observed). The WAL is held to
 * pg_control's identifier too, by any manifest version (wal-identity.ts).
 */
import type { ProblemList } from './report.ts';

/** The system identifier from the first bytes of global/pg_control; null when they are too short to hold it. */
export function controlSystemId(head: Buffer): bigint | null {
  return head.length < 8 ? null : head.readBigUInt64LE(0);
}

export function checkControlSystemId(head: Buffer, expected: string, problems: ProblemList): void {
  const actual = controlSystemId(head)?.toString();
  if (actual === undefined || actual === expected) return; // unreadable or short: the size and checksum checks report that file
  problems.add({
    code: 'SYSTEM_ID_MISMATCH', path: 'global/pg_control',
    message: `"global/pg_control": manifest system identifier is ${expected}, but control file has ${actual}`,
    expected, actual,
  });
}
