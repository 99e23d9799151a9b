/**
 * Version 2 manifests (17+) record the cluster's system identifier; pg_verifybackup compares it with the one
 * in global/pg_control so a manifest cannot vouch for another cluster's files. pg_control is in the server's
 * byte order; the identifier is its first field (little-endian on every platform observed).
 */
import type { ProblemList } from './report.ts';

export function checkControlSystemId(head: Buffer, expected: string, problems: ProblemList): void {
  if (head.length < 8) return; // unreadable or short: the size and checksum checks report that file
  const actual = head.readBigUInt64LE(0).toString();
  if (actual === expected) return;
  problems.add({
    code: 'SYSTEM_ID_MISMATCH', path: 'global/pg_control',
    message: `"global/pg_control": manifest system identifier is ${expected}, but control file has ${actual}`,
    expected, actual,
  });
}
