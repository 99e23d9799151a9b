/**
 * The CopyData payloads of START_REPLICATION (physical): XLogData 'w' and primary keepalive 'k' from the
 * server, and the standby status update 'r' the client sends. Fixed layouts, checked exactly; LSNs and
 * timestamps are bigint (timestamps in microseconds since 2000-01-01, see util/pg-epoch.ts).
 *
 * Hot standby feedback 'h' is deliberately absent: a backup client never holds back the primary's xmin.
 */
import { ProtocolError } from '../errors/index.ts';
import type { Lsn } from '../util/lsn.ts';
import { ReplicationCopyType, typeChar } from './codes.ts';
import { ByteWriter } from './writer.ts';

export type ReplicationCopyMessage =
  | {
    readonly type: 'XLogData';
    readonly dataStart: Lsn;
    readonly walEnd: Lsn;
    readonly sendTimeUs: bigint;
    readonly data: Buffer; // a view of the payload
  }
  | { readonly type: 'PrimaryKeepalive'; readonly walEnd: Lsn; readonly sendTimeUs: bigint; readonly replyRequested: boolean };

const XLOG_DATA_HEADER_BYTES = 25;
const KEEPALIVE_BYTES = 18;
const STATUS_UPDATE_BYTES = 34;

export function decodeReplicationCopyData(payload: Buffer): ReplicationCopyMessage {
  const type = payload.length === 0 ? -1 : (payload[0] as number);
  if (type === ReplicationCopyType.XLogData && payload.length >= XLOG_DATA_HEADER_BYTES) {
    return {
      type: 'XLogData',
      dataStart: payload.readBigUInt64BE(1),
      walEnd: payload.readBigUInt64BE(9),
      sendTimeUs: payload.readBigInt64BE(17),
      data: payload.subarray(XLOG_DATA_HEADER_BYTES),
    };
  }
  if (type === ReplicationCopyType.PrimaryKeepalive && payload.length === KEEPALIVE_BYTES) {
    return {
      type: 'PrimaryKeepalive',
      walEnd: payload.readBigUInt64BE(1),
      sendTimeUs: payload.readBigInt64BE(9),
      replyRequested: payload[17] !== 0,
    };
  }
  const what = type < 0 ? 'empty' : `"${typeChar(type)}"`;
  throw new ProtocolError('COPY_SUBMESSAGE_INVALID', `unrecognized or malformed streaming header: ${what} (${payload.length} bytes)`, {
    details: { type: type < 0 ? null : typeChar(type), length: payload.length },
  });
}

export interface StandbyStatusUpdate {
  readonly writeLsn: Lsn;
  readonly flushLsn: Lsn;
  readonly applyLsn: Lsn;
  readonly sendTimeUs: bigint;
  readonly replyRequested: boolean;
}

/** The 34-byte payload; wrap it with encodeCopyData to send. */
export function encodeStandbyStatusUpdate(update: StandbyStatusUpdate): Buffer {
  return new ByteWriter(STATUS_UPDATE_BYTES)
    .u8(ReplicationCopyType.StandbyStatusUpdate)
    .u64(update.writeLsn)
    .u64(update.flushLsn)
    .u64(update.applyLsn)
    .i64(update.sendTimeUs)
    .u8(update.replyRequested ? 1 : 0)
    .finish();
}
