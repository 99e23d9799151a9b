/**
 * Incremental tar reader: bytes in, typed events out, for pg_basebackup-style consumers (extraction, injection,
 * verification).
 *
 * Owns framing only: header blocks, data, padding, and the two zero blocks that end an archive. Headers are decoded
 * by header.ts, which also validates names. `data` events are subarrays of the pushed chunk (no copy); only a
 * header split across pushes is copied. Bytes after the end of the archive (GNU tar pads to its record size) are
 * ignored. A lone zero block followed by a header is tolerated, as GNU tar does.
 *
 * Invariant: for every member exactly one 'member' event, its data events (sum = header.size), one 'member-end';
 * after the last member one 'archive-end'. `end()` throws TAR_TRUNCATED if the input stopped anywhere else.
 */
import { TarError } from '../errors/index.ts';
import { TAR_BLOCK_BYTES, decodeTarHeader, isZeroBlock, type TarHeader } from './header.ts';

export type TarEvent =
  | { type: 'member'; header: TarHeader }
  | { type: 'data'; chunk: Buffer }
  | { type: 'member-end' }
  | { type: 'archive-end' };

type State = 'header' | 'data' | 'padding' | 'ended';

export class TarReader {
  #state: State = 'header';
  #block = Buffer.alloc(TAR_BLOCK_BYTES);
  #blockFill = 0;
  #sawZeroBlock = false;
  #dataLeft = 0;
  #paddingLeft = 0;
  #memberName = '';
  readonly #headerQueue: Buffer[] | null;

  /**
   * `keepHeaderBytes`: also keep a copy of each member's raw 512-byte header, to be taken with shiftHeaderBytes()
   * once per 'member' event, so a stage that rebuilds an archive can pass unchanged headers through byte for
   * byte (as pg_basebackup's tar archiver does).
   */
  constructor(options: { keepHeaderBytes?: boolean } = {}) {
    this.#headerQueue = options.keepHeaderBytes === true ? [] : null;
  }

  /** The raw header of the oldest 'member' event not yet taken (only with keepHeaderBytes). */
  shiftHeaderBytes(): Buffer | undefined {
    return this.#headerQueue?.shift();
  }

  push(chunk: Buffer): TarEvent[] {
    const events: TarEvent[] = [];
    let at = 0;
    while (at < chunk.length && this.#state !== 'ended') {
      if (this.#state === 'header') {
        let block: Buffer;
        if (this.#blockFill === 0 && chunk.length - at >= TAR_BLOCK_BYTES) {
          block = chunk.subarray(at, at + TAR_BLOCK_BYTES);
          at += TAR_BLOCK_BYTES;
        } else {
          const take = Math.min(TAR_BLOCK_BYTES - this.#blockFill, chunk.length - at);
          chunk.copy(this.#block, this.#blockFill, at, at + take);
          this.#blockFill += take;
          at += take;
          if (this.#blockFill < TAR_BLOCK_BYTES) break;
          this.#blockFill = 0;
          block = this.#block;
        }
        this.#onHeaderBlock(block, events);
      } else if (this.#state === 'data') {
        const take = Math.min(this.#dataLeft, chunk.length - at);
        events.push({ type: 'data', chunk: chunk.subarray(at, at + take) });
        at += take;
        this.#dataLeft -= take;
        if (this.#dataLeft === 0) this.#endMember(events);
      } else {
        const take = Math.min(this.#paddingLeft, chunk.length - at);
        at += take;
        this.#paddingLeft -= take;
        if (this.#paddingLeft === 0) this.#state = 'header';
      }
    }
    return events;
  }

  end(): void {
    if (this.#state === 'ended') return;
    const where = this.#state === 'header' && this.#blockFill === 0 && this.#memberName === ''
      ? 'before the end-of-archive blocks'
      : `inside or after member "${this.#memberName}"`;
    throw new TarError('TAR_TRUNCATED', `tar archive is truncated ${where}`);
  }

  #onHeaderBlock(block: Buffer, events: TarEvent[]): void {
    if (isZeroBlock(block)) {
      if (this.#sawZeroBlock) {
        this.#state = 'ended';
        events.push({ type: 'archive-end' });
      }
      this.#sawZeroBlock = true;
      return;
    }
    this.#sawZeroBlock = false;
    const header = decodeTarHeader(block);
    this.#memberName = header.name;
    this.#headerQueue?.push(Buffer.from(block));
    events.push({ type: 'member', header });
    this.#dataLeft = header.size;
    this.#paddingLeft = (TAR_BLOCK_BYTES - (header.size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
    if (header.size === 0) this.#endMember(events);
    else this.#state = 'data';
  }

  #endMember(events: TarEvent[]): void {
    events.push({ type: 'member-end' });
    this.#state = this.#paddingLeft > 0 ? 'padding' : 'header';
  }
}
