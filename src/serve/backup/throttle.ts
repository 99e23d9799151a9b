/**
 * A rate limit in bytes per second, shared by everyone who calls `take`: serve's own `--max-rate` (all reads from
 * the data directory, whatever the number of backups) and a client's MAX_RATE (that backup's bytes on the wire).
 *
 * A virtual clock: each `take` books its bytes after the previous booking and sleeps until the booking is
 * no more than SLACK_MS in the future, so the long-run rate is exact, bursts stay within SLACK_MS worth of bytes,
 * and callers sharing one throttle split the rate between them. `null` rate means no limit.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const SLACK_MS = 20;

export class Throttle {
  readonly #bytesPerMs: number | null;
  #bookedUntilMs = 0;

  constructor(bytesPerSecond: number | null) {
    this.#bytesPerMs = bytesPerSecond === null ? null : bytesPerSecond / 1000;
  }

  get isLimited(): boolean {
    return this.#bytesPerMs !== null;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#bytesPerMs === null || bytes <= 0) return;
    const nowMs = performance.now();
    this.#bookedUntilMs = Math.max(this.#bookedUntilMs, nowMs) + bytes / this.#bytesPerMs;
    const waitMs = this.#bookedUntilMs - nowMs - SLACK_MS;
    if (waitMs > 0) await sleep(waitMs, undefined, signal === undefined ? undefined : { signal });
  }
}
