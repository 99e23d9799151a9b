/**
 * A repository's identity: `repository.json`, written once by the first command that uses the repository, names
 * the cluster (its system identifier, from IDENTIFY_SYSTEM) and its WAL segment size. Every later use checks it,
 * so WAL or backups of another cluster can never be mixed in: recovery would replay them and fail at best.
 *
 * The first write is an exclusive put: two commands starting together on an empty repository agree on one record
 * (the loser re-reads the winner's and is checked against it like any later user).
 */
import { ConvoyError } from '../errors/index.ts';
import type { RepositoryStorage } from './storage.ts';

export const IDENTITY_KEY = 'repository.json';
const FORMAT_VERSION = 1;

export interface RepositoryIdentity {
  /** Decimal u64 as text, as IDENTIFY_SYSTEM and pg_controldata print it. */
  readonly systemId: string;
  readonly walSegmentBytes: number;
}

/** The identity recorded in the repository, or null for one nothing has used yet. */
export async function readIdentity(storage: RepositoryStorage): Promise<RepositoryIdentity | null> {
  const bytes = await storage.get(IDENTITY_KEY);
  return bytes === null ? null : parseIdentity(bytes, storage.location);
}

/** The recorded identity of a repository that must exist already (commands that only read or remove). */
export async function requireIdentity(storage: RepositoryStorage): Promise<RepositoryIdentity> {
  const identity = await readIdentity(storage);
  if (identity === null) {
    throw new ConvoyError('REPOSITORY_INVALID', `"${storage.location}" is not a pgconvoy repository: it has no "${IDENTITY_KEY}"`, {
      hint: 'A repository is created by the first "pgconvoy archive --repo" into it.',
    });
  }
  return identity;
}

/** Records `identity` in an unused repository, or checks that the repository is this cluster's. */
export async function claimRepository(storage: RepositoryStorage, identity: RepositoryIdentity): Promise<void> {
  const record = { version: FORMAT_VERSION, ...identity, createdAt: new Date().toISOString() };
  if (await storage.put(IDENTITY_KEY, Buffer.from(`${JSON.stringify(record, null, 2)}\n`), { exclusive: true })) return;
  const recorded = await readIdentity(storage);
  if (recorded === null) {
    throw new ConvoyError('REPOSITORY_INVALID', `"${IDENTITY_KEY}" in repository "${storage.location}" disappeared while it was being read`);
  }
  if (recorded.systemId !== identity.systemId) {
    throw new ConvoyError('REPOSITORY_MISMATCH', `repository "${storage.location}" belongs to another cluster`, {
      details: { detail: `The repository's system identifier is ${recorded.systemId}, the server's is ${identity.systemId}.` },
      hint: 'Give each cluster its own repository.',
    });
  }
  if (recorded.walSegmentBytes !== identity.walSegmentBytes) {
    throw new ConvoyError('REPOSITORY_MISMATCH', `repository "${storage.location}" holds WAL segments of another size`, {
      details: { detail: `The repository's segments are ${recorded.walSegmentBytes} bytes, the server's are ${identity.walSegmentBytes}.` },
    });
  }
}

function parseIdentity(bytes: Buffer, location: string): RepositoryIdentity {
  const invalid = (why: string): ConvoyError =>
    new ConvoyError('REPOSITORY_INVALID', `invalid "${IDENTITY_KEY}" in repository "${location}": ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  const record = value as Partial<Record<keyof RepositoryIdentity | 'version', unknown>> | null;
  if (typeof record !== 'object' || record === null || record.version !== FORMAT_VERSION) throw invalid('unknown format version');
  const { systemId, walSegmentBytes } = record;
  if (typeof systemId !== 'string' || !/^\d+$/.test(systemId)) throw invalid('no system identifier');
  if (typeof walSegmentBytes !== 'number' || !Number.isInteger(walSegmentBytes) || walSegmentBytes <= 0) throw invalid('no WAL segment size');
  return { systemId, walSegmentBytes };
}
