/**
 * WalSink: where WAL streamed on the second connection (-X stream) goes for one destination: plain format
 * writes `pg_wal/<segment>` files, tar format a `pg_wal.tar` (compressed with client gzip when asked).
 *
 * Segments are written full-size as pg_basebackup does: a completed segment gets an `archive_status/<seg>.done`
 * marker; the last, partial one keeps its normal name, zero-padded to the segment size.
 *
 * Order: writeWal* and writeHistory* in any interleaving, then finish(), then cleanup(error?) exactly once.
 * `data` chunks are contiguous within a timeline; a timeline switch (tli changes) may start before the end of
 * the previous timeline's last segment. Chunks are owned by the receiver; never modify them in place.
 *
 * Durability: `flushedLsn` is the end of the WAL this sink has fsynced (file and directory entry), which is what the
 * stream may report to the server as its flush position; the write position runs ahead of it. Sinks fsync each
 * segment as it completes (as pg_basebackup does), so it advances a segment at a time, and a partial last segment
 * is made durable only by the destination's final fsync. With sync off (-N) nothing is ever fsynced while streaming,
 * so it stays 0 (InvalidXLogRecPtr, "nothing flushed"): the slot then holds the backup's WAL on the server until the
 * backup ends, as -X fetch does, rather than the server being told of a durability that does not exist.
 *
 * For a destination built by createDestination: its WalSink may only be called after its ArchiveSink's
 * beginBackup (which prepares the directories and gives the segment size); finish() and the archive's endBackup
 * may come in either order, and backup_manifest appears only once both have completed.
 */
import type { Lsn } from '../util/lsn.ts';

export interface WalSink {
  /** WAL before this LSN is durable in this sink (0 while nothing is); never moves backwards. */
  readonly flushedLsn: Lsn;
  writeWal(tli: number, dataStart: Lsn, data: Buffer): Promise<void>;
  /** A timeline history file (`0000000N.history`) fetched with TIMELINE_HISTORY. */
  writeHistory(filename: string, content: Buffer): Promise<void>;
  /** Streaming reached the backup end; close the current segment. */
  finish(): Promise<void>;
  cleanup(error?: unknown): Promise<void>;
}
