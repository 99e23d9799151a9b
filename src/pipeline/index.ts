/** The pipeline's public surface for the lead's wiring: contracts, destinations, fan-out. */
export { ArchiveSink, type BackupStartInfo, type BackupEndInfo } from './archive-sink.ts';
export type { WalSink } from './wal-sink.ts';
export { createDestination, type Destination } from './build-destination.ts';
export { fanOut, type FanOutDestination } from './fan-out.ts';
export type { DestinationOptions, ClientCompression, ClaimedDir, ClaimEvent } from './destination/options.ts';
export type { CompressionMethod } from './compression/filter.ts';
