/**
 * Turns a BackupPlan into the destinations one server stream is written to: one per `-D`, fanned out when
 * there are several (the slowest sets the pace; a failing one is cleaned and dropped, the others go on).
 * Also the pre-flight check that every target is empty or creatable, done before anything starts on the
 * server, as pg_basebackup does.
 */
import { renderPrimaryConninfo } from '../client/conninfo.ts';
import { UsageError } from '../errors/index.ts';
import { createDestination, fanOut, type Destination } from '../pipeline/index.ts';
import { directoryStatus } from '../pipeline/destination/fs-helpers.ts';
import type { BackupPlan } from './plan.ts';
import type { BackupTargets, ServerFacts } from './run-backup.ts';

export async function preflightTargets(plan: BackupPlan): Promise<void> {
  for (const { dir, status } of await inspectTargets(plan)) {
    if (status === 'not-empty') {
      throw new UsageError('TARGET_NOT_EMPTY', `directory "${dir}" exists but is not empty`,
        { hint: 'Choose an empty or new directory; pgconvoy never writes into an existing backup.' });
    }
  }
}

/** Each -D directory (not stdout) as it is now; the guardian needs to know which ones the run will create. */
export async function inspectTargets(plan: BackupPlan): Promise<Array<{ dir: string; status: 'missing' | 'empty' | 'not-empty' }>> {
  const found: Array<{ dir: string; status: 'missing' | 'empty' | 'not-empty' }> = [];
  for (const dir of plan.destinations) if (dir !== '-') found.push({ dir, status: await directoryStatus(dir) });
  return found;
}

export async function openBackupTargets(plan: BackupPlan, facts: ServerFacts, stdout: NodeJS.WritableStream): Promise<BackupTargets> {
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
  }));
  const target: Destination & { outcomes?: () => Array<{ dir: string; error?: unknown }> } =
    destinations.length === 1 ? (destinations[0] as Destination) : fanOut(destinations);
  return {
    archive: target.archive,
    wal: target.wal,
    outcomes: target.outcomes ?? (() => [{ dir: target.dir }]),
  };
}

/** What -R appends to postgresql.auto.conf: the connection this backup used, and the slot named with -S. */
function recoverySettings(plan: BackupPlan): string {
  const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
  let lines = `primary_conninfo = ${quote(renderPrimaryConninfo(plan.connection))}\n`;
  if (plan.slot !== undefined) lines += `primary_slot_name = ${quote(plan.slot)}\n`;
  return lines;
}
