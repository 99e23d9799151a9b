import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveSink } from '../../../src/pipeline/archive-sink.ts';
import { createDestination, type Destination } from '../../../src/pipeline/build-destination.ts';
import { fanOut } from '../../../src/pipeline/fan-out.ts';
import type { WalSink } from '../../../src/pipeline/wal-sink.ts';
import type { Lsn } from '../../../src/util/lsn.ts';
import { RecordingSink, SEGMENT_BYTES, destinationOptions, driveBackup, sampleBaseTar, startInfo, tempDir } from './pipeline-helpers.ts';

const MANIFEST = Buffer.from('{ "PostgreSQL-Backup-Manifest-Version": 1 }\n');

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** A stage whose write fails with ENOSPC once `limitBytes` have passed, as a full disk would. */
class FullDiskStage extends ArchiveSink {
  #seenBytes = 0;
  readonly #limitBytes: number;

  constructor(next: ArchiveSink, limitBytes: number) {
    super(next);
    this.#limitBytes = limitBytes;
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    this.#seenBytes += chunk.length;
    if (this.#seenBytes > this.#limitBytes) throw enospc();
    await this.next?.archiveContents(chunk);
  }
}

class FullDiskWal implements WalSink {
  readonly #inner: WalSink;
  constructor(inner: WalSink) {
    this.#inner = inner;
  }
  get flushedLsn(): Lsn { return this.#inner.flushedLsn; }
  async writeWal(_tli: number, _dataStart: Lsn, _data: Buffer): Promise<void> { throw enospc(); }
  writeHistory(filename: string, content: Buffer): Promise<void> { return this.#inner.writeHistory(filename, content); }
  finish(): Promise<void> { return this.#inner.finish(); }
  cleanup(error?: unknown): Promise<void> { return this.#inner.cleanup(error); }
}

function failing(destination: Destination, limitBytes: number): Destination {
  return { ...destination, archive: new FullDiskStage(destination.archive, limitBytes), describe: () => ['full-disk', ...destination.describe()] };
}

async function runBackup(fan: Destination, base: Buffer): Promise<void> {
  await fan.archive.beginBackup(startInfo());
  await fan.wal?.writeWal(1, 3n * BigInt(SEGMENT_BYTES), Buffer.alloc(SEGMENT_BYTES, 3));
  await driveBackup(fan.archive, [{ name: 'base.tar', location: '', bytes: base }], MANIFEST, { hasBegun: true, chunkBytes: 8192 });
  await fan.wal?.finish();
  await fan.archive.cleanup();
  await fan.wal?.cleanup();
}

test('one destination hits ENOSPC: it is cleaned up and dropped, the others complete', async () => {
  const root = tempDir();
  try {
    const make = (name: string, noClean = false): Destination =>
      createDestination(destinationOptions(join(root, name), { walMethod: 'stream', noClean }));
    const full = failing(make('full'), 20000);
    const keptPartial = failing(make('kept', true), 20000);
    const fan = fanOut([make('a'), full, make('b'), keptPartial]);
    assert.equal(fan.describe()[0], 'fan-out');
    assert.ok(fan.describe().includes(`${join(root, 'full')}: full-disk`));
    const base = sampleBaseTar();
    const copy = Buffer.from(base);
    await runBackup(fan, base);
    assert.ok(base.equals(copy), 'chunks were modified');
    for (const name of ['a', 'b']) {
      assert.deepEqual(readFileSync(join(root, name, 'backup_manifest')), MANIFEST);
      assert.deepEqual(readFileSync(join(root, name, 'global/pg_control')), Buffer.alloc(8192, 0x22));
      assert.equal(readdirSync(join(root, name, 'pg_wal/archive_status')).length, 1);
    }
    assert.equal(existsSync(join(root, 'full')), false);
    assert.equal(existsSync(join(root, 'kept/backup_manifest')), false);
    assert.equal(existsSync(join(root, 'kept/backup_manifest.tmp')), false);
    assert.equal(existsSync(join(root, 'kept/PG_VERSION')), true);
    const outcomes = fan.outcomes();
    assert.deepEqual(outcomes.map((outcome) => [outcome.dir, (outcome.error as NodeJS.ErrnoException | undefined)?.code]), [
      [join(root, 'a'), undefined], [join(root, 'full'), 'ENOSPC'], [join(root, 'b'), undefined], [join(root, 'kept'), 'ENOSPC'],
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a WAL failure drops the destination from the archive side too', async () => {
  const root = tempDir();
  try {
    const good = createDestination(destinationOptions(join(root, 'good'), { walMethod: 'stream' }));
    const bad = createDestination(destinationOptions(join(root, 'bad'), { walMethod: 'stream' }));
    const fan = fanOut([good, { ...bad, wal: new FullDiskWal(bad.wal as WalSink) }]);
    await runBackup(fan, sampleBaseTar());
    assert.equal(existsSync(join(root, 'good/backup_manifest')), true);
    assert.equal(existsSync(join(root, 'bad')), false);
    assert.equal((fan.outcomes()[1]?.error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('when every destination fails the first error is thrown', async () => {
  const first = new RecordingSink();
  const second = new RecordingSink();
  const fan = fanOut([
    { dir: 'one', archive: new FullDiskStage(first, 0), wal: null, describe: () => [] },
    { dir: 'two', archive: new FullDiskStage(second, 100), wal: null, describe: () => [] },
  ]);
  assert.equal(fan.wal, null);
  await fan.archive.beginBackup(startInfo());
  await fan.archive.beginArchive('base.tar', '');
  await fan.archive.archiveContents(Buffer.alloc(50)); // 'one' fails here, 'two' goes on
  const error = await fan.archive.archiveContents(Buffer.alloc(100)).catch((caught: unknown) => caught);
  assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.equal(fan.outcomes().filter((outcome) => outcome.error !== undefined).length, 2);
  assert.deepEqual(first.hooks(), ['beginBackup', 'beginArchive', 'cleanup']);
  assert.deepEqual(second.hooks(), ['beginBackup', 'beginArchive', 'archiveContents', 'cleanup']);
  await fan.archive.cleanup(error);
});

test('the slowest destination sets the pace: a call returns only when all have finished it', async () => {
  const order: string[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  class Gated extends ArchiveSink {
    constructor(readonly label: string, readonly wait: Promise<void>) {
      super(null);
    }
    protected override async onArchiveContents(): Promise<void> {
      await this.wait;
      order.push(this.label);
    }
  }
  const fan = fanOut([{ dir: 'slow', archive: new Gated('slow', gate), wal: null, describe: () => [] }, { dir: 'fast', archive: new Gated('fast', Promise.resolve()), wal: null, describe: () => [] }]);
  await fan.archive.beginBackup(startInfo());
  await fan.archive.beginArchive('base.tar', '');
  const call = fan.archive.archiveContents(Buffer.alloc(1)).then(() => order.push('returned'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['fast']);
  openGate();
  await call;
  assert.deepEqual(order, ['fast', 'slow', 'returned']);
  await fan.archive.cleanup(new Error('stop'));
});

test('several destinations are switched to overlapped writes; a single one keeps synchronous writes', () => {
  const switched: string[] = [];
  const fake = (dir: string): Destination => ({
    dir, archive: new RecordingSink(), wal: null, describe: () => [], useOverlappedWrites: () => switched.push(dir),
  });
  fanOut([fake('a')]);
  assert.deepEqual(switched, []);
  fanOut([fake('b'), fake('c')]);
  assert.deepEqual(switched, ['b', 'c']);
});
