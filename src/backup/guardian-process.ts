/**
 * The backup guardian's own process, spawned detached by guardian.ts before BASE_BACKUP. It outlives a
 * `pgconvoy backup` that dies without cleaning up (SIGKILL, OOM killer, crash) and does that run's cleanup:
 * a CancelRequest for each of its sessions (a walsender waiting for a spread start checkpoint would otherwise
 * hold the backup for minutes), then the destinations, as the run's own failure path would leave them.
 *
 * Input: newline-delimited JSON on stdin, written only by the parent (GuardianMessage). The parent's death is
 * stdin ending without `done`; `done` means the run finished or cleaned up itself, and the guardian just exits.
 *
 * Invariants: a directory holding backup_manifest is a complete backup and is never touched, with or without
 * --no-clean; only the -D directories the parent named are touched, and only those that were missing (removed)
 * or empty (emptied) before the run. Does not log (stdout and stderr are /dev/null, and the input holds cancel
 * keys), retry, or drop slots: temporary slots end with their sessions.
 */
import { realpathSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sendCancelRequest } from '../client/connection.ts';
import type { CancelKey, ConnectionParams } from '../client/types.ts';

/** A -D directory, and whether this run creates it (remove on rescue) or found it empty (empty on rescue). */
export interface GuardedDir {
  readonly dir: string;
  readonly wasCreated: boolean;
}

export type GuardianMessage =
  | { readonly type: 'start'; readonly host: string; readonly port: number; readonly noClean: boolean; readonly destinations: readonly GuardedDir[] }
  | { readonly type: 'session'; readonly processId: number; readonly secretKey: string } // secretKey in hex
  | { readonly type: 'done' };

const MANIFEST_NAME = 'backup_manifest';
const MANIFEST_TEMP_NAME = 'backup_manifest.tmp';

/** What the parent told us so far. */
export class GuardianOrders {
  server: { readonly host: string; readonly port: number } | null = null;
  noClean = false;
  destinations: GuardedDir[] = [];
  readonly sessions: CancelKey[] = [];
  isDone = false;

  /** Takes one input line; anything malformed is ignored (the parent is the only writer). */
  accept(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const fields = message as Record<string, unknown>;
    if (fields['type'] === 'done') {
      this.isDone = true;
    } else if (fields['type'] === 'session' && Number.isInteger(fields['processId']) && isHex(fields['secretKey'])) {
      this.sessions.push({ processId: fields['processId'] as number, secretKey: Buffer.from(fields['secretKey'], 'hex') });
    } else if (fields['type'] === 'start' && typeof fields['host'] === 'string' && Number.isInteger(fields['port'])) {
      this.server = { host: fields['host'], port: fields['port'] as number };
      this.noClean = fields['noClean'] === true;
      this.destinations = Array.isArray(fields['destinations']) ? fields['destinations'].filter(isGuardedDir) : [];
    }
  }
}

function isHex(value: unknown): value is string {
  return typeof value === 'string' && value.length % 2 === 0 && /^[0-9a-f]*$/i.test(value);
}

function isGuardedDir(value: unknown): value is GuardedDir {
  const fields = value as Record<string, unknown> | null;
  return typeof fields?.['dir'] === 'string' && fields['dir'] !== '' && typeof fields['wasCreated'] === 'boolean';
}

export type Cancel = (params: ConnectionParams, key: CancelKey) => Promise<void>;

/** The parent died: cancel its sessions (each bounded by sendCancelRequest's timeout), then clean its output. */
async function rescue(orders: GuardianOrders, cancel: Cancel = sendCancelRequest): Promise<void> {
  const server = orders.server;
  if (server !== null) {
    // A CancelRequest needs only the address: no user, no password, never SSL.
    const params: ConnectionParams = {
      host: server.host, port: server.port, user: '', database: '', sslmode: 'disable', applicationName: '', connectTimeoutMs: 0,
    };
    await Promise.all(orders.sessions.map((key) => cancel(params, key).catch(() => {})));
  }
  for (const target of orders.destinations) await cleanDestination(target, orders.noClean).catch(() => {});
}

export type Verdict = 'missing' | 'complete' | 'removed' | 'emptied' | 'kept-partial';

/** What the run's failure path does to one destination, unless it already holds a complete backup. */
export async function cleanDestination(target: GuardedDir, noClean: boolean): Promise<Verdict> {
  if (!(await isDirectory(target.dir))) return 'missing';
  // Any doubt about backup_manifest (other than "no such file") throws here, and the caller keeps everything.
  if (await exists(join(target.dir, MANIFEST_NAME))) return 'complete';
  if (noClean) {
    await rm(join(target.dir, MANIFEST_TEMP_NAME), { force: true });
    return 'kept-partial';
  }
  if (target.wasCreated) {
    await rm(target.dir, { recursive: true, force: true });
    return 'removed';
  }
  for (const entry of await readdir(target.dir)) await rm(join(target.dir, entry), { recursive: true, force: true });
  return 'emptied';
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Reads orders until stdin ends; rescues only when `done` never came. */
export async function guard(input: NodeJS.ReadableStream, cancel: Cancel = sendCancelRequest): Promise<'released' | 'rescued'> {
  const orders = new GuardianOrders();
  for await (const line of createInterface({ input, crlfDelay: Infinity })) orders.accept(line);
  if (orders.isDone) return 'released';
  await rescue(orders, cancel);
  return 'rescued';
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  void guard(process.stdin).catch(() => {}).finally(() => process.exit(0));
}
