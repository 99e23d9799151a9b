/**
 * The only place that knows the order of a destination's stages (pg_basebackup's CreateBackupStreamer, as a
 * builder). Chains are built inside-out: terminal first, then each stage wrapping the previous one.
 *
 * Plain format:  decompress -> extract
 *   Extraction parses tar, so server-side compression must be undone before it.
 * Tar format:    [tar-rebuild] -> [compress] -> tar-file | tar-stdout
 *   Archives are written as received. Injection (-R settings, the manifest as the last member on stdout) has to
 *   parse and rebuild base.tar, so it runs on uncompressed tar before client compression; compression comes last so
 *   that what is compressed is exactly the archive that is written. Server-compressed archives cannot be rebuilt,
 *   which options.ts refuses up front.
 * WAL (-X stream) goes to a WalSink beside the chain: pg_wal/ for plain, pg_wal.tar(.gz) for tar.
 */
import { ArchiveSink } from './archive-sink.ts';
import type { WalSink } from './wal-sink.ts';
import { DestinationState } from './destination/destination-state.ts';
import { validateDestinationOptions, type DestinationOptions } from './destination/options.ts';
import { DecompressSink } from './stages/decompress-sink.ts';
import { ExtractSink } from './stages/extract-sink.ts';
import { TarRebuildSink } from './stages/tar-rebuild-sink.ts';
import { CompressSink } from './stages/compress-sink.ts';
import { TarFileSink } from './stages/tar-file-sink.ts';
import { TarStdoutSink } from './stages/tar-stdout-sink.ts';
import { WalDirSink } from './wal/wal-dir-sink.ts';
import { WalTarSink } from './wal/wal-tar-sink.ts';

export interface Destination {
  readonly dir: string;
  readonly archive: ArchiveSink;
  readonly wal: WalSink | null;
  /** Stage names in order, first stage first, then the WAL sink if any (e.g. ['decompress', 'extract', 'wal-dir']). */
  describe(): string[];
  /**
   * Claims the target directory now, before the server starts the backup, so a taken or non-empty one refuses the
   * run early (beginBackup claims it otherwise). After a failure, archive.cleanup(error) releases the claim.
   */
  claim?(): Promise<void>;
  /**
   * Called by fanOut when this destination shares one stream with others: its file writes then go to the thread
   * pool, so the destinations write in parallel (see destination/file-output.ts). Must come before beginBackup.
   */
  useOverlappedWrites?(): void;
}

export function createDestination(options: DestinationOptions): Destination {
  validateDestinationOptions(options);
  const state = new DestinationState(options);
  const stages: string[] = [];
  let archive: ArchiveSink;
  let wal: WalSink | null = null;

  if (options.format === 'plain') {
    archive = new ExtractSink(state);
    stages.unshift('extract');
    archive = new DecompressSink(archive);
    stages.unshift('decompress');
    if (options.walMethod === 'stream') wal = new WalDirSink(state);
  } else {
    if (state.toStdout) {
      archive = new TarStdoutSink(state, options.stdout ?? process.stdout);
      stages.unshift('tar-stdout');
    } else {
      archive = new TarFileSink(state);
      stages.unshift('tar-file');
    }
    const compression = options.clientCompression;
    if (compression !== null) {
      archive = new CompressSink(archive, compression);
      stages.unshift(`compress-${compression.method}`);
    }
    const injectManifest = state.toStdout && options.manifest;
    if (options.recoveryConf !== null || injectManifest) {
      archive = new TarRebuildSink(archive, { recoveryConf: options.recoveryConf, injectManifest, fileMode: state.fileMode });
      stages.unshift('tar-rebuild');
    }
    if (options.walMethod === 'stream') {
      // pg_wal.tar is compressed only with client gzip, as pg_basebackup does.
      wal = new WalTarSink(state, compression?.method === 'gzip' ? compression.level : null);
    }
  }
  const walStage = wal === null ? [] : [options.format === 'plain' ? 'wal-dir' : 'wal-tar'];
  return {
    dir: options.dir, archive, wal, describe: () => [...stages, ...walStage], claim: () => state.claim(),
    useOverlappedWrites: () => { state.writeMode = 'overlapped'; },
  };
}
