/**
 * What serve learns once, at start, about the cluster it sits beside, through its own SQL session: the release
 * (for the version table), WAL segment size, whether data checksums are on, the data directory's mode and owner,
 * the catalog version that names tablespace directories, and the system identifier. It also proves that
 * `--pgdata` is that cluster's data directory: the system identifier in its global/pg_control must be the
 * server's, so serve can never send files of another cluster.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicationSession } from '../client/types.ts';
import { UsageError, fsError } from '../errors/index.ts';
import { parseWalSegmentSize } from '../util/lsn.ts';
import { majorOf, pgVersionRules, SERVE_MAX_MAJOR, SERVE_MIN_MAJOR, type PgVersionRules } from '../util/pg-versions.ts';

export interface ClusterFacts {
  readonly serverVersionNum: number;
  readonly rules: PgVersionRules;
  readonly segmentBytes: number;
  readonly dataChecksums: boolean;
  readonly systemId: string;
  /** `PG_15_202209061`: the directory of this release inside every tablespace location. */
  readonly tablespaceVersionDir: string;
  /** pg_dir_create_mode and pg_file_create_mode: 0700/0600, or 0750/0640 with group access. */
  readonly dirCreateMode: number;
  readonly fileCreateMode: number;
  /** Owner of the data directory: injected files (backup_label, .done markers) are written as if by the server. */
  readonly ownerUid: number;
  readonly ownerGid: number;
  /** authentication_timeout in ms: how long a client may take to log in. */
  readonly authenticationTimeoutMs: number;
}

/** pg_control starts with the system identifier, a native-endian uint64 (little-endian on every platform we run). */
const SYSTEM_ID_BYTES = 8;

export async function readClusterFacts(session: ReplicationSession, dataDir: string): Promise<ClusterFacts> {
  const [row = []] = await session.query(
    "SELECT current_setting('server_version_num'), current_setting('wal_segment_size'), current_setting('data_checksums'), " +
    "current_setting('data_directory_mode'), current_setting('authentication_timeout'), " +
    '(SELECT system_identifier::text FROM pg_control_system()), (SELECT catalog_version_no::text FROM pg_control_system())');
  const [versionNum, segmentSize, checksums, dirMode, authTimeout, systemId, catalogVersion] = row;
  const serverVersionNum = Number(versionNum);
  const major = majorOf(serverVersionNum);
  if (major < SERVE_MIN_MAJOR || major > SERVE_MAX_MAJOR) {
    throw new UsageError('OPTION_INVALID', `serve supports PostgreSQL ${SERVE_MIN_MAJOR} to ${SERVE_MAX_MAJOR}; the cluster runs ${versionNum}`);
  }
  const onDisk = await readSystemId(dataDir);
  if (onDisk !== systemId) {
    throw new UsageError('OPTION_INVALID', `"${dataDir}" is not the data directory of the cluster serve connects to`, {
      details: { detail: `its system identifier is ${onDisk}, the server's is ${systemId}` },
      hint: 'Give --pgdata the directory the server reports as data_directory.',
    });
  }
  const dirCreateMode = Number.parseInt(dirMode ?? '0700', 8) & 0o750;
  const owner = await stat(dataDir);
  return {
    serverVersionNum,
    rules: pgVersionRules(major),
    segmentBytes: parseWalSegmentSize(segmentSize ?? ''),
    dataChecksums: checksums === 'on',
    systemId: systemId ?? '',
    tablespaceVersionDir: `PG_${major}_${catalogVersion ?? ''}`,
    dirCreateMode,
    fileCreateMode: dirCreateMode === 0o750 ? 0o640 : 0o600,
    ownerUid: owner.uid,
    ownerGid: owner.gid,
    authenticationTimeoutMs: parseSeconds(authTimeout ?? '60s') * 1000,
  };
}

async function readSystemId(dataDir: string): Promise<string> {
  const path = join(dataDir, 'global', 'pg_control');
  try {
    const bytes = await readFile(path);
    if (bytes.length < SYSTEM_ID_BYTES) return '';
    return bytes.readBigUInt64LE(0).toString();
  } catch (error) {
    throw fsError('read file', path, error);
  }
}

/** `60s`, `1min`, `5` (seconds): authentication_timeout as SHOW prints it. */
function parseSeconds(text: string): number {
  const match = /^(\d+)\s*(ms|s|min|h)?$/.exec(text.trim());
  if (match === null) return 60;
  const value = Number(match[1]);
  switch (match[2]) {
    case 'ms': return value / 1000;
    case 'min': return value * 60;
    case 'h': return value * 3600;
    default: return value;
  }
}
