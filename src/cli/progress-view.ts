/**
 * `-P`: how far a backup is. On a terminal a live bar (cli-progress) with bytes, percent, rate and ETA; on
 * anything else one plain line every few seconds, so logs stay readable. The total is the server's estimate
 * (PROGRESS), which excludes WAL, so the bar may pass 100% slightly; like pg_basebackup we clamp the percent.
 * Before the first byte, while the server runs its start checkpoint (minutes when spread), both say
 * "waiting for checkpoint" as pg_basebackup does: ended by a carriage return on a terminal, so the bar replaces it,
 * and by a newline elsewhere.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from './format-bytes.ts';

export interface ProgressView {
  waitingForCheckpoint(): void;
  start(totalBytes: bigint | null): void;
  update(bytesDone: bigint, archive: string): void;
  stop(): void;
}

const LINE_INTERVAL_MS = 5000;

export function createProgressView(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string): ProgressView {
  return stream.isTTY === true ? new BarView(stream, label) : new LineView(stream, label);
}

const WAITING_FOR_CHECKPOINT = 'waiting for checkpoint';

class BarView implements ProgressView {
  readonly #stream: NodeJS.WritableStream;
  readonly #bar: cliProgress.SingleBar;
  #total = 0;
  #startedAt = Date.now();

  constructor(stream: NodeJS.WritableStream, label: string) {
    this.#stream = stream;
    this.#bar = new cliProgress.SingleBar({
      stream,
      format: `${label} [{bar}] {percentage}% | {done} of {totalText} | {rate}/s | ETA {eta_formatted} | {archive}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    }, cliProgress.Presets.shades_classic);
  }

  waitingForCheckpoint(): void {
    this.#stream.write(`${WAITING_FOR_CHECKPOINT}\r`);
  }

  start(totalBytes: bigint | null): void {
    this.#total = totalBytes === null ? 0 : Number(totalBytes);
    this.#startedAt = Date.now();
    this.#bar.start(Math.max(this.#total, 1), 0, { done: formatBytes(0), totalText: this.#totalText(), rate: '0 B', archive: '' });
  }

  update(bytesDone: bigint, archive: string): void {
    const done = Number(bytesDone);
    const seconds = Math.max((Date.now() - this.#startedAt) / 1000, 0.001);
    if (done > this.#total) this.#total = done; // the estimate excludes WAL and late growth
    this.#bar.setTotal(Math.max(this.#total, 1));
    this.#bar.update(done, { done: formatBytes(done), totalText: this.#totalText(), rate: formatBytes(done / seconds), archive });
  }

  stop(): void {
    this.#bar.stop();
  }

  #totalText(): string {
    return this.#total === 0 ? '?' : formatBytes(this.#total);
  }
}

class LineView implements ProgressView {
  readonly #stream: NodeJS.WritableStream;
  readonly #label: string;
  #total: number | null = null;
  #startedAt = 0;
  #lastLineAt = 0;
  #done = 0;
  #archive = '';

  constructor(stream: NodeJS.WritableStream, label: string) {
    this.#stream = stream;
    this.#label = label;
  }

  waitingForCheckpoint(): void {
    this.#stream.write(`${WAITING_FOR_CHECKPOINT}\n`);
  }

  start(totalBytes: bigint | null): void {
    this.#total = totalBytes === null ? null : Number(totalBytes);
    this.#startedAt = Date.now();
    this.#lastLineAt = this.#startedAt;
  }

  update(bytesDone: bigint, archive: string): void {
    this.#done = Number(bytesDone);
    this.#archive = archive;
    if (Date.now() - this.#lastLineAt >= LINE_INTERVAL_MS) this.#line();
  }

  stop(): void {
    this.#line();
  }

  #line(): void {
    this.#lastLineAt = Date.now();
    const seconds = Math.max((this.#lastLineAt - this.#startedAt) / 1000, 0.001);
    const percent = this.#total === null || this.#total === 0 ? '' : ` (${Math.min(100, Math.floor((this.#done / this.#total) * 100))}%)`;
    const total = this.#total === null ? '' : ` of ${formatBytes(this.#total)}`;
    this.#stream.write(`${this.#label}: ${formatBytes(this.#done)}${total}${percent}, ${formatBytes(this.#done / seconds)}/s, ${this.#archive}\n`);
  }
}
