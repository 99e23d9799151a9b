/**
 * Turns a BackupPlan into the destinations one server stream is written to: one per `-D`, fanned out when
 * there are several (the slowest sets the pace; a failing one is cleaned and dropped, the others go on), or, with
 * `-t`, none at all: the server keeps the backup and the stream carries no archive data.
 *
 * Every target directory is claimed (pipeline/destination/claim.ts) before the server starts the backup, so a run
 * that finds its directory taken by another fails at once and touches nothing it did not create. The pre-flight
 * check before connecting refuses what is plainly not empty, as pg_basebackup does; only the claim is decisive.
 */
import { renderPrimaryConninfo } from '../client/conninfo.ts';
import { UsageError } from '../errors/index.ts';
import { ArchiveSink, createDestination, fanOut, type ClaimEvent, type Destination } from '../pipeline/index.ts';
import { refuseTarget } from '../pipeline/destination/claim.ts';
import { directoryStatus } from '../pipeline/destination/fs-helpers.ts';
import type { BackupPlan, BackupTarget } from './plan.ts';
import type { BackupTargets, ServerFacts } from './run-backup.ts';

export async function preflightTargets(plan: BackupPlan): Promise<void> {
  for (const dir of [...plan.destinations, ...(plan.walDir === undefined ? [] : [plan.walDir])]) {
    if (dir === '-') continue;
    const status = await directoryStatus(dir);
    if (status === 'not-directory') throw refuseTarget(dir, status);
    if (status === 'not-empty') {
      throw new UsageError('TARGET_NOT_EMPTY', `directory "${dir}" exists but is not empty`,
        { hint: 'Choose an empty or new directory; pgconvoy never writes into an existing backup.' });
    }
  }
}

export async function openBackupTargets(plan: BackupPlan, facts: ServerFacts, stdout: NodeJS.WritableStream,
  onClaim: (event: ClaimEvent) => void): Promise<BackupTargets> {
  if (plan.target !== undefined) return serverSideTarget(plan.target);
  const destinations = plan.destinations.map((dir) => createDestination({
    dir,
    format: plan.format,
    clientCompression: plan.compression?.location === 'client'
      ? { method: plan.compression.method, ...(plan.compression.level === undefined ? {} : { level: plan.compression.level }) }
      : null,
    serverCompression: plan.compression?.location === 'server' ? plan.compression.method : null,
    tablespaceMapping: new Map(plan.tablespaceMappings.map((m) => [m.oldDir, m.newDir])),
    recoveryConf: plan.writeRecoveryConf ? { autoConfLines: recoverySettings(plan) } : null,
    walMethod: plan.walMethod,
    manifest: plan.manifest && facts.serverVersionNum >= 130000,
    dataDirectoryMode: (facts.dataDirectoryMode & 0o070) === 0 ? 0o700 : 0o750,
    sync: plan.sync,
    noClean: plan.noClean,
    stdout: stdout as NonNullable<Parameters<typeof createDestination>[0]['stdout']>,
    walDir: plan.walDir ?? null,
    onClaim,
  }));
  const target: Destination & { outcomes?: () => Array<{ dir: string; error?: unknown }> } =
    destinations.length === 1 ? (destinations[0] as Destination) : fanOut(destinations);
  try {
    await target.claim?.();
  } catch (error) {
    // Release what was claimed before the one that was refused; nothing else was touched.
    await Promise.allSettled(destinations.flatMap((destination) => [destination.archive.cleanup(error), destination.wal?.cleanup(error)]));
    throw error;
  }
  return {
    archive: target.archive,
    wal: target.wal,
    outcomes: target.outcomes ?? (() => [{ dir: target.dir }]),
  };
}

/** With a server-side target, archives and manifest arrive without data ('n', 'p', 'm' only): nothing to write. */
class ServerKeepsBackup extends ArchiveSink {}

function serverSideTarget(target: BackupTarget): BackupTargets {
  const name = target.detail === undefined ? target.name : `${target.name}:${target.detail}`;
  return { archive: new ServerKeepsBackup(null), wal: null, outcomes: () => [{ dir: name }] };
}

/** What -R appends to postgresql.auto.conf: the connection this backup used, and the slot named with -S. */
function recoverySettings(plan: BackupPlan): string {
  const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
  let lines = `primary_conninfo = ${quote(renderPrimaryConninfo(plan.connection))}\n`;
  if (plan.slot !== undefined) lines += `primary_slot_name = ${quote(plan.slot)}\n`;
  return lines;
}
