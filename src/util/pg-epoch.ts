/** Replication timestamps: Int64 microseconds since 2000-01-01 00:00:00 UTC. */
const PG_EPOCH_MS = 946_684_800_000;

export function toPgEpochMicros(unixMs: number): bigint {
  return BigInt(Math.round(unixMs) - PG_EPOCH_MS) * 1000n;
}

export function fromPgEpochMicros(micros: bigint): number {
  return Number(micros / 1000n) + PG_EPOCH_MS;
}
