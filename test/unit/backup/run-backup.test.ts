/**
 * runBackup's ordering and abort rules against scripted sessions (no server): the RESERVE_WAL slot comes before
 * BASE_BACKUP on the right session, sessions are closed before endBackup, a failure or a signal drops every
 * socket AND sends a CancelRequest (and the run waits until they are sent), and endBackup is the commit point.
 * The guardian learns every cancel key before BASE_BACKUP and is told `done` only after the run's own cleanup.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, ConvoyError, FsError } from '../../../src/errors/index.ts';
import type {
  BaseBackupEvent, BaseBackupOptions, CancelKey, IdentifySystemResult, NoticeMessage, ReplicationSession, StartReplicationOptions,
  WalStream, WalStreamEvent,
} from '../../../src/client/types.ts';
import { ArchiveSink, type BackupEndInfo } from '../../../src/pipeline/archive-sink.ts';
import type { WalSink } from '../../../src/pipeline/wal-sink.ts';
import type { BackupPlan } from '../../../src/backup/plan.ts';
import type { GuardianInit } from '../../../src/backup/guardian.ts';
import { runBackup, type BackupPhase, type BackupTargets } from '../../../src/backup/run-backup.ts';
import type { Lsn } from '../../../src/util/lsn.ts';

const START_LSN = 0x1000028n;
const END_LSN = 0x1000100n;

type Log = string[];

function scriptedEvents(): BaseBackupEvent[] {
  return [
    { type: 'start', startLsn: START_LSN, startTli: 1 },
    { type: 'tablespaces', tablespaces: [{ oid: null, location: null, sizeKb: 1n }] },
    { type: 'archive', name: 'base.tar', location: '' },
    { type: 'data', chunk: Buffer.alloc(1024) },
    { type: 'manifest' },
    { type: 'data', chunk: Buffer.from('{}') },
    { type: 'end', endLsn: END_LSN, endTli: 1 },
  ];
}

class FakeSession implements ReplicationSession {
  readonly serverVersionNum = 150004;
  readonly serverVersion = '15.4';
  readonly parameters = new Map<string, string>();
  readonly #log: Log;
  readonly #hangAfter: number | null;
  readonly #cancelDelayMs: number;
  #destroyed: (() => void) | null = null;
  readonly #whenDestroyed = new Promise<void>((resolve) => (this.#destroyed = resolve));

  constructor(readonly backendPid: number, log: Log, options: { hangAfter?: number; cancelDelayMs?: number } = {}) {
    this.#log = log;
    this.#hangAfter = options.hangAfter ?? null;
    this.#cancelDelayMs = options.cancelDelayMs ?? 0;
  }

  get cancelKey(): CancelKey {
    return { processId: this.backendPid, secretKey: Buffer.from([0, 0, 0, this.backendPid]) };
  }

  #say(what: string): void {
    this.#log.push(`${this.backendPid}:${what}`);
  }

  async identifySystem(): Promise<IdentifySystemResult> {
    this.#say('IDENTIFY_SYSTEM');
    return { systemId: '7300000000000000001', timeline: 1, xlogPos: START_LSN, dbName: null };
  }
  async show(name: string): Promise<string> {
    return ({ wal_segment_size: '16MB', wal_sender_timeout: '1min' } as Record<string, string>)[name] ?? '0700';
  }
  async timelineHistory(): Promise<{ filename: string; content: Buffer }> {
    throw new Error('not scripted');
  }
  async createPhysicalSlot(name: string, options: { temporary: boolean; reserveWal: boolean }): Promise<void> {
    this.#say(`CREATE_REPLICATION_SLOT ${name}${options.temporary ? ' TEMPORARY' : ''}${options.reserveWal ? ' RESERVE_WAL' : ''}`);
  }
  async dropSlot(): Promise<void> {}
  async query(): Promise<Array<Array<string | null>>> {
    return [];
  }
  baseBackup(_options: BaseBackupOptions): AsyncIterable<BaseBackupEvent> {
    this.#say('BASE_BACKUP');
    const events = scriptedEvents();
    const hangAfter = this.#hangAfter;
    const whenDestroyed = this.#whenDestroyed;
    return (async function* () {
      for (const [index, event] of events.entries()) {
        if (hangAfter !== null && index === hangAfter) {
          await whenDestroyed;
          throw new AbortError('ABORTED', 'connection was destroyed');
        }
        yield event;
      }
    })();
  }
  startReplication(options: StartReplicationOptions): WalStream {
    this.#say(`START_REPLICATION ${options.slot ?? '-'}`);
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const data = Buffer.alloc(Number(END_LSN - options.startLsn));
    return {
      reportPosition: () => {},
      stop: async () => stop(),
      async *[Symbol.asyncIterator](): AsyncIterator<WalStreamEvent> {
        yield { type: 'xlogdata', dataStart: options.startLsn, walEnd: END_LSN, data };
        await stopped;
      },
    };
  }
  onNotice(_listener: (notice: NoticeMessage) => void): void {}
  async cancel(): Promise<void> {
    this.#say('cancel');
    await new Promise((resolve) => setTimeout(resolve, this.#cancelDelayMs));
    this.#say('cancel sent');
  }
  async close(): Promise<void> {
    this.#say('close');
  }
  destroy(): void {
    this.#say('destroy');
    this.#destroyed?.();
  }
}

class LoggingSink extends ArchiveSink {
  constructor(readonly log: Log, readonly hooks: { onEndManifest?: () => void; onEndBackup?: () => void; onData?: () => void } = {}) {
    super(null);
  }
  protected override async onBeginBackup(): Promise<void> { this.log.push('sink:beginBackup'); }
  protected override async onArchiveContents(): Promise<void> { this.hooks.onData?.(); }
  protected override async onEndManifest(): Promise<void> { this.hooks.onEndManifest?.(); }
  protected override async onEndBackup(_info: BackupEndInfo): Promise<void> {
    this.hooks.onEndBackup?.();
    this.log.push('sink:endBackup');
  }
  protected override async onCleanup(error: unknown): Promise<void> {
    this.log.push(error === undefined ? 'sink:cleanup' : `sink:cleanup(${(error as ConvoyError).code})`);
  }
}

class LoggingWal implements WalSink {
  readonly flushedLsn = 0n;
  constructor(readonly log: Log) {}
  async writeWal(_tli: number, dataStart: Lsn, data: Buffer): Promise<void> {
    this.log.push(`wal:${dataStart.toString(16)}+${data.length}`);
  }
  async writeHistory(): Promise<void> {}
  async finish(): Promise<void> { this.log.push('wal:finish'); }
  async cleanup(): Promise<void> {}
}

function plan(walMethod: 'fetch' | 'stream', useTemporarySlot = true): BackupPlan {
  return {
    connection: { host: '127.0.0.1', port: 5432, user: 'u', database: 'replication', sslmode: 'disable', applicationName: 't', connectTimeoutMs: 0 },
    destinations: ['/nowhere'], format: 'plain', walMethod, fastCheckpoint: true, label: 'unit', estimateSize: true,
    compression: null, manifest: true, manifestForceEncode: false, writeRecoveryConf: false, createSlot: false,
    useTemporarySlot, tablespaceMappings: [], verifyChecksums: true, noClean: false, sync: false, statusIntervalMs: 0,
  };
}

function harness(walMethod: 'fetch' | 'stream',
  options: { hangAfter?: number; cancelDelayMs?: number; sink?: LoggingSink['hooks']; noSlot?: boolean } = {}) {
  const log: Log = [];
  const controller = new AbortController();
  const phases: BackupPhase[] = [];
  let nextPid = 100;
  const sink = new LoggingSink(log, options.sink);
  const targets: BackupTargets = { archive: sink, wal: walMethod === 'stream' ? new LoggingWal(log) : null, outcomes: () => [{ dir: '/nowhere' }] };
  // What the guardian was told, each with the main log's length at that moment (to check the order).
  const guardian: Array<{ at: number; what: string; init?: GuardianInit }> = [];
  const run = runBackup(plan(walMethod, options.noSlot !== true), {
    connect: async () => {
      const pid = nextPid++;
      // Only the first (main) session runs BASE_BACKUP, so only it hangs.
      return new FakeSession(pid, log, pid === 100 ? options : { cancelDelayMs: options.cancelDelayMs ?? 0 });
    },
    openTargets: async () => targets,
    signal: controller.signal,
    observer: { onPhase: (phase) => phases.push(phase) },
    startGuardian: (init) => {
      guardian.push({ at: log.length, what: 'start', init });
      return {
        addSession: (key) => guardian.push({ at: log.length, what: `session ${key.processId} ${key.secretKey.toString('hex')}` }),
        addCreating: (dir) => guardian.push({ at: log.length, what: `creating ${dir}` }),
        addDestination: (claim) => guardian.push({ at: log.length, what: `dir ${claim.dir}` }),
        done: async () => {
          guardian.push({ at: log.length, what: 'done' });
        },
      };
    },
  });
  return { log, controller, run, phases, guardian };
}

test('-X fetch: the RESERVE_WAL slot is created on the BASE_BACKUP session first; sessions close before endBackup', async () => {
  const { log, run, phases } = harness('fetch');
  const outcome = await run;
  assert.deepEqual(log, [
    '100:IDENTIFY_SYSTEM', '100:CREATE_REPLICATION_SLOT pgconvoy_fetch_100 TEMPORARY RESERVE_WAL', '100:BASE_BACKUP',
    'sink:beginBackup', '100:close', 'sink:endBackup', 'sink:cleanup',
  ]);
  assert.deepEqual(phases, ['connecting', 'checkpoint', 'copying', 'finishing']);
  assert.equal(outcome.startLsn, START_LSN);
  assert.equal(outcome.endLsn, END_LSN);
});

test('-X fetch --no-slot: no slot at all', async () => {
  const { log, run } = harness('fetch', { noSlot: true });
  await run;
  assert.ok(!log.some((line) => line.includes('CREATE_REPLICATION_SLOT')));
});

test('-X stream: the slot is created on the streaming session before BASE_BACKUP and streamed from', async () => {
  const { log, run } = harness('stream');
  await run;
  assert.deepEqual(log, [
    '100:IDENTIFY_SYSTEM', '101:IDENTIFY_SYSTEM', '101:CREATE_REPLICATION_SLOT pgconvoy_101 TEMPORARY RESERVE_WAL',
    '100:BASE_BACKUP', 'sink:beginBackup', '101:START_REPLICATION pgconvoy_101', 'wal:1000000+256', 'wal:finish',
    '100:close', '101:close', 'sink:endBackup', 'sink:cleanup',
  ]);
});

test('a signal during BASE_BACKUP drops and cancels every session, cleans, and returns after the cancels were sent', async () => {
  const { log, controller, run } = harness('stream', { hangAfter: 2, cancelDelayMs: 20 });
  const failure = run.then(() => assert.fail('should not succeed'), (error: unknown) => {
    log.push('run rejected');
    return error;
  });
  while (!log.includes('sink:beginBackup')) await new Promise((resolve) => setTimeout(resolve, 1));
  controller.abort(new ConvoyError('ABORTED', 'interrupted by SIGINT'));
  const error = await failure;
  assert.ok(error instanceof ConvoyError && error.code === 'ABORTED' && error.message === 'interrupted by SIGINT');
  for (const pid of [100, 101]) {
    assert.ok(log.indexOf(`${pid}:destroy`) >= 0 && log.indexOf(`${pid}:cancel`) >= 0, `session ${pid} dropped and cancelled`);
    assert.ok(log.indexOf(`${pid}:cancel sent`) < log.indexOf('run rejected'), 'the run waits for the CancelRequest');
  }
  assert.ok(log.includes('sink:cleanup(ABORTED)'));
  assert.ok(!log.includes('sink:endBackup'));
});

test('a destination failure tears the sessions down the same way and reports the destination error', async () => {
  const full = new FsError('could not write to file "x": no space left on device', Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
  const { log, run } = harness('fetch', { sink: { onData: () => { throw full; } } });
  await assert.rejects(run, (error: unknown) => error === full);
  assert.ok(log.includes('100:destroy') && log.includes('100:cancel sent'));
  assert.ok(log.includes('sink:cleanup(DISK_FULL)'));
});

test('a signal after the server finished but before endBackup still aborts: no backup_manifest may appear', async () => {
  let abort: () => void = () => {};
  const { log, controller, run } = harness('fetch', { sink: { onEndManifest: () => abort() } });
  abort = () => controller.abort(new ConvoyError('ABORTED', 'interrupted by SIGTERM'));
  await assert.rejects(run, { code: 'ABORTED', message: 'interrupted by SIGTERM' });
  assert.ok(!log.includes('sink:endBackup'));
  assert.ok(log.includes('sink:cleanup(ABORTED)'));
});

test('a signal during endBackup changes nothing: the backup is complete (commit point)', async () => {
  let abort: () => void = () => {};
  const { log, controller, run } = harness('fetch', { sink: { onEndBackup: () => abort() } });
  abort = () => controller.abort(new ConvoyError('ABORTED', 'interrupted by SIGINT'));
  const outcome = await run;
  assert.equal(outcome.endLsn, END_LSN);
  assert.deepEqual(log.slice(-2), ['sink:endBackup', 'sink:cleanup']);
});

test('the guardian knows both sessions before BASE_BACKUP and is released after a successful run', async () => {
  const { log, run, guardian } = harness('stream');
  await run;
  const baseBackupAt = log.indexOf('100:BASE_BACKUP');
  assert.deepEqual(guardian.map((entry) => entry.what), ['start', 'session 100 00000064', 'session 101 00000065', 'done']);
  assert.ok(guardian.slice(0, 3).every((entry) => entry.at <= baseBackupAt), 'told before BASE_BACKUP');
  assert.equal(guardian[3]?.at, log.length, 'released last, after endBackup');
  assert.deepEqual(guardian[0]?.init, { host: '127.0.0.1', port: 5432, noClean: false });
});

test('after a failure the guardian is released only once the run cleaned up and sent its cancels', async () => {
  const { log, controller, run, guardian } = harness('fetch', { hangAfter: 2, cancelDelayMs: 20 });
  while (!log.includes('sink:beginBackup')) await new Promise((resolve) => setTimeout(resolve, 1));
  controller.abort(new ConvoyError('ABORTED', 'interrupted by SIGTERM'));
  await assert.rejects(run, { code: 'ABORTED' });
  assert.deepEqual(guardian.map((entry) => entry.what), ['start', 'session 100 00000064', 'done']);
  const doneAt = guardian[2]?.at ?? -1;
  assert.ok(doneAt > log.indexOf('sink:cleanup(ABORTED)') && doneAt > log.indexOf('100:cancel sent'), log.join(' '));
});

test('a guardian that cannot start does not stop the run', async () => {
  const warnings: string[] = [];
  const log: Log = [];
  const sink = new LoggingSink(log);
  const outcome = await runBackup(plan('fetch'), {
    connect: async () => new FakeSession(100, log),
    openTargets: async () => ({ archive: sink, wal: null, outcomes: () => [{ dir: '/nowhere' }] }),
    signal: new AbortController().signal,
    observer: { onWarning: (message) => warnings.push(message) },
    startGuardian: (_init, onWarning) => {
      onWarning('could not start the cleanup guardian: spawn EAGAIN');
      return null;
    },
  });
  assert.equal(outcome.endLsn, END_LSN);
  assert.deepEqual(warnings, ['could not start the cleanup guardian: spawn EAGAIN']);
});
