/**
 * What a backup performed by serve needs of its client's connection: ordered frame writes with backpressure
 * (a slow client slows only its own backup, up to the convoy's window) and a signal that fires when the backup
 * must stop (the client went away, sent CopyFail or Terminate, asked to cancel, or serve is shutting down).
 */
export interface ClientChannel {
  /** Writes the frames in order; resolves once the connection can take more; rejects once it is gone. */
  send(...frames: Buffer[]): Promise<void>;
  readonly signal: AbortSignal;
}
