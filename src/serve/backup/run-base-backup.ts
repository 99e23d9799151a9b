/**
 * One BASE_BACKUP performed by serve, in the order PostgreSQL's walsender follows (reference §2.2, §2.4): its own
 * SQL session with a WAL-reserving temporary slot and pg_backup_start; the start and tablespace result sets;
 * CopyOutResponse; each tablespace archive, then base.tar (backup_label and tablespace_map first, the data
 * directory, global/pg_control read last for this backup, pg_backup_stop, the WAL when asked); the manifest; the
 * end position; then BASE_BACKUP's CommandComplete, or the XX001 error when pages failed verification.
 *
 * The archives' files come from the convoy (shared reads); everything per backup is here and in
 * receive-archive.ts. On any failure the SQL session is destroyed, which makes PostgreSQL abort the backup and
 * drop the slot; the caller reports the error to the client. On success the session is handed back open: it keeps
 * the slot until the client's connection ends, so a `-X stream` client that still streams the backup's WAL
 * cannot lose it to a checkpoint.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionParams } from '../../client/types.ts';
import { ConvoyError, type ServerErrorFields } from '../../errors/index.ts';
import { ManifestWriter } from '../../manifest/writer.ts';
import { encodeCommandComplete, encodeCopyOutResponse, encodeNoticeResponse } from '../../protocol/encode-backend.ts';
import { tarEndOfArchive, tarPadding } from '../../tar/writer.ts';
import { formatLsn } from '../../util/lsn.ts';
import type { ClusterFacts } from '../cluster-facts.ts';
import type { ServeLog } from '../serve-log.ts';
import type { ArchiveEntry, ArchiveLayout } from './archive-walk.ts';
import type { ClientChannel } from './client-channel.ts';
import type { Convoy, ConvoyMember } from './convoy.ts';
import { CopyOutStream } from './copy-out.ts';
import { FileRead, type FileReadOptions, type ReadCounters } from './file-read.ts';
import { backupLabelText, checkAgainstServer, tablespaceMapText } from './label.ts';
import { MemberQueue } from './member-queue.ts';
import type { BaseBackupRequest } from './options.ts';
import { addToManifest, receiveArchive, tarHeaderOf, type ArchiveTarget, type BackupTally } from './receive-archive.ts';
import { positionResultSet, tablespaceResultSet, type TablespaceRow } from './result-sets.ts';
import { estimateArchiveKb } from './size-estimate.ts';
import { SqlBackupSession, type StartGate } from './sql-backup.ts';
import { listTablespaces, mapLinks, type Tablespace } from './tablespaces.ts';
import { Throttle } from './throttle.ts';
import { includeWal, manifestWalRanges, sendInjected, type InjectedFileOwner } from './wal-include.ts';

/**
 * How long a started backup waits for others that arrived with it to start too (StartGate.settle): a few fast
 * checkpoints' worth, so that backups started together share the first lap, yet short beside any copy.
 */
const START_SETTLE_MAX_MS = 2000;

/** How far (in bytes of file data) one backup may fall behind the shared read before it is blamed. */
export const MEMBER_QUEUE_BYTES = 16 * 1024 * 1024;

export interface BackupContext {
  readonly dataDir: string;
  readonly sqlParams: ConnectionParams;
  readonly cluster: ClusterFacts;
  readonly convoy: Convoy;
  readonly startGate: StartGate;
  /** Reads of WAL and pg_control, outside the convoy (same throttle, their own counter). */
  readonly walRead: FileReadOptions;
  /**
   * serve-wide reads, for the log: of the data directory (the convoy's shared reader and the private readers of
   * backups that left it), and of WAL and pg_control (read for each backup alone).
   */
  readonly readCounters: { readonly convoy: ReadCounters; readonly wal: ReadCounters };
  readonly log: ServeLog;
}

export interface BackupOutcome {
  /** Still open: holds the backup's slot until the client's session ends. */
  readonly session: SqlBackupSession;
  readonly tally: BackupTally;
}

export async function runBaseBackup(context: BackupContext, id: number, channel: ClientChannel,
  request: BaseBackupRequest): Promise<BackupOutcome> {
  const { cluster } = context;
  const rules = cluster.rules;
  const session = await SqlBackupSession.open(context.sqlParams, channel.signal);
  const member: ConvoyMember = {
    id, queue: new MemberQueue(MEMBER_QUEUE_BYTES), checksumAlgorithm: request.manifestChecksums,
    verifyChecksums: request.verifyChecksums, tablespaceMap: request.tablespaceMap, sentDirectories: new Set(),
  };
  const onAbort = (): void => member.queue.close(channel.signal.reason);
  channel.signal.addEventListener('abort', onAbort, { once: true });
  const notice = (fields: ServerErrorFields): Promise<void> => channel.send(encodeNoticeResponse(fields));
  session.onNotice((n) => void notice({ severity: n.severity, code: n.code, message: n.message, ...(n.detail === undefined ? {} : { detail: n.detail }) }).catch(() => {}));
  const copyOut = new CopyOutStream(channel, request.maxRateKbps === null ? null : new Throttle(request.maxRateKbps * 1024), request.compression);
  const tally: BackupTally = { sharedBytes: 0, aloneBytes: 0, checksumFailures: 0, files: 0 };
  const leaveGate = context.startGate.arrive();
  try {
    await session.reserveWal(`pgconvoy_serve_${process.pid}_${id}`);
    const start = await session.start(context.startGate, request.label, request.fastCheckpoint);
    leaveGate();
    context.log.event('backup-start', { backup: id, label: request.label, start: formatLsn(start.startLsn), tli: start.startTli });
    await context.startGate.settle(START_SETTLE_MAX_MS);
    const tablespaces = await listTablespaces(context.dataDir, rules);
    const mainLayout = layoutOfMain(context, tablespaces);
    const labelText = backupLabelText(start, request.label, cluster.segmentBytes);
    const mapText = request.tablespaceMap ? tablespaceMapText(mapLinks(tablespaces)) : null;
    await channel.send(...positionResultSet(start.startLsn, start.startTli, rules));
    await channel.send(...tablespaceResultSet(await tablespaceRows(context, tablespaces, mainLayout, request)), encodeCopyOutResponse());

    const manifest = request.manifest === 'no' ? null : {
      writer: new ManifestWriter({ version: rules.manifestVersion, systemId: cluster.systemId, forceEncode: request.manifest === 'force-encode' }),
      parts: [] as Buffer[],
    };
    const target = (manifestPrefix: string): ArchiveTarget => ({
      copyOut, manifest, notice, rules, startLsn: start.startLsn, verifyChecksums: request.verifyChecksums && cluster.dataChecksums, manifestPrefix,
    });
    const owner: InjectedFileOwner = { uid: cluster.ownerUid, gid: cluster.ownerGid, mode: cluster.fileCreateMode };

    for (const tablespace of tablespaces) {
      await copyOut.beginArchive(`${tablespace.oid}.tar`, tablespace.location);
      context.convoy.join(`tablespace ${tablespace.oid} ${tablespace.root}`, layoutOfTablespace(context, tablespace), member);
      await receiveArchive(member, target(`pg_tblspc/${tablespace.oid}/`), tally);
      await copyOut.write(tarEndOfArchive());
      await copyOut.endArchive();
    }

    const main = target('');
    await copyOut.beginArchive('base.tar', '');
    await sendInjected('backup_label', Buffer.from(labelText, 'utf8'), main, request.manifestChecksums, owner);
    if (mapText !== null) await sendInjected('tablespace_map', Buffer.from(mapText, 'utf8'), main, request.manifestChecksums, owner);
    context.convoy.join('main', mainLayout, member);
    await receiveArchive(member, main, tally);
    await sendPgControl(context, main, request);
    const stop = await session.stop(request.waitForArchive);
    checkAgainstServer(labelText, stop.labelFile, mapText, stop.tablespaceMap);
    const range = { startLsn: start.startLsn, startTli: start.startTli, endLsn: stop.endLsn, endTli: stop.endTli };
    if (request.wal) await includeWal(context.dataDir, cluster.segmentBytes, range, main, request.manifestChecksums, owner, context.walRead);
    await copyOut.write(tarEndOfArchive());
    await copyOut.endArchive();
    if (manifest !== null) {
      manifest.parts.push(manifest.writer.finish(await manifestWalRanges(context.dataDir, range)));
      await copyOut.manifest(Buffer.concat(manifest.parts));
    }
    await copyOut.end();
    await channel.send(...positionResultSet(stop.endLsn, stop.endTli, rules));
    if (tally.checksumFailures > 0) {
      if (tally.checksumFailures > 1) await notice({ severity: 'WARNING', code: '01000', message: `${tally.checksumFailures} total checksum verification failures` });
      throw new ConvoyError('CHECKSUM_FAILURE', 'checksum verification failure during base backup', { details: { sqlstate: 'XX001' } });
    }
    await channel.send(encodeCommandComplete('BASE_BACKUP'));
    context.log.event('backup-end', {
      backup: id, label: request.label, start: formatLsn(start.startLsn), end: formatLsn(stop.endLsn), files: tally.files,
      bytes: copyOut.bytesDone, sharedBytes: tally.sharedBytes, aloneBytes: tally.aloneBytes,
      serveDataBytesRead: context.readCounters.convoy.dataBytesRead, serveWalBytesRead: context.readCounters.wal.dataBytesRead,
    });
    return { session, tally };
  } catch (error) {
    member.queue.close(error);
    copyOut.destroy();
    // a checksum failure leaves a complete backup behind, like PostgreSQL: the session (and slot) may go
    session.destroy();
    throw error;
  } finally {
    leaveGate();
    channel.signal.removeEventListener('abort', onAbort);
  }
}

function layoutOfMain(context: BackupContext, tablespaces: readonly Tablespace[]): ArchiveLayout {
  return {
    kind: 'main', root: context.dataDir, versionDir: null, rules: context.cluster.rules, dirCreateMode: context.cluster.dirCreateMode,
    skipDirs: new Set(tablespaces.flatMap((tablespace) => (tablespace.insideDataDir === null ? [] : [tablespace.insideDataDir]))),
  };
}

function layoutOfTablespace(context: BackupContext, tablespace: Tablespace): ArchiveLayout {
  return {
    kind: 'tablespace', root: tablespace.root, versionDir: context.cluster.tablespaceVersionDir, rules: context.cluster.rules,
    dirCreateMode: context.cluster.dirCreateMode, skipDirs: new Set(),
  };
}

async function tablespaceRows(context: BackupContext, tablespaces: readonly Tablespace[], main: ArchiveLayout,
  request: BaseBackupRequest): Promise<TablespaceRow[]> {
  const rows: TablespaceRow[] = [];
  for (const tablespace of tablespaces) {
    const sizeKb = request.progress ? await estimateArchiveKb(layoutOfTablespace(context, tablespace), false) : null;
    rows.push({ oid: tablespace.oid, location: tablespace.location, sizeKb });
  }
  rows.push({ oid: null, location: null, sizeKb: request.progress ? await estimateArchiveKb(main, request.tablespaceMap) : null });
  return rows;
}

/** global/pg_control, read for this backup after all its other files (a standby's minRecoveryPoint must be late). */
async function sendPgControl(context: BackupContext, target: ArchiveTarget, request: BaseBackupRequest): Promise<void> {
  const path = join(context.dataDir, 'global', 'pg_control');
  const stat = await lstat(path);
  const entry: ArchiveEntry = {
    key: '', name: 'global/pg_control', path, pgPath: './global/pg_control', kind: 'file',
    stat: { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, size: stat.size, mtimeSec: Math.floor(stat.mtimeMs / 1000) },
    linkTarget: null, ancestors: [], inTablespaceDir: false, checksumSegno: null,
  };
  const read = await FileRead.start(entry, [request.manifestChecksums], false, context.walRead);
  if (read === null) throw new ConvoyError('FS_ERROR', 'could not open file "global/pg_control": No such file or directory');
  try {
    await target.copyOut.write(tarHeaderOf(entry));
    for (let chunk = await read.next(); chunk !== null; chunk = await read.next()) await target.copyOut.write(chunk);
    await target.copyOut.write(tarPadding(entry.stat.size));
    addToManifest(target, entry.name, entry.stat.size, entry.stat.mtimeSec, read.finish().digests.get(request.manifestChecksums) ?? '', { checksumAlgorithm: request.manifestChecksums });
  } finally {
    await read.close();
  }
}
