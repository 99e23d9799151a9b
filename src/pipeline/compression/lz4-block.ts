/**
 * Decoder for one LZ4 block (the sequence format inside an LZ4 frame). Matches may reach back into bytes already in
 * `out` before `start`, which is how linked blocks see the previous block's last 64 KiB: the caller places that
 * history in front. Every read and write is bounds-checked, since the input comes from the network.
 *
 * Short copies are byte loops (cheaper than a Buffer call); long ones use copy/copyWithin, and overlapping matches
 * (a run shorter than its offset) double the copied span each step instead of copying byte by byte.
 */
import { ProtocolError } from '../../errors/index.ts';

const MIN_MATCH_BYTES = 4;
const SHORT_COPY_BYTES = 32;

function corrupt(why: string): ProtocolError {
  return new ProtocolError('COMPRESSED_DATA_INVALID', `invalid LZ4 block: ${why}`);
}

/** Decodes `src` into `out` from `start`; returns the end offset of the decoded bytes. */
export function decodeLz4Block(src: Buffer, out: Buffer, start: number): number {
  let s = 0;
  let d = start;
  const sEnd = src.length;
  const dEnd = out.length;
  while (s < sEnd) {
    const token = src[s++] as number;
    let literalBytes = token >>> 4;
    if (literalBytes === 15) {
      let more: number;
      do {
        if (s >= sEnd) throw corrupt('truncated literal length');
        more = src[s++] as number;
        literalBytes += more;
      } while (more === 255);
    }
    if (s + literalBytes > sEnd || d + literalBytes > dEnd) throw corrupt('literals overrun');
    if (literalBytes < SHORT_COPY_BYTES) {
      for (let i = 0; i < literalBytes; i++) out[d + i] = src[s + i] as number;
    } else {
      src.copy(out, d, s, s + literalBytes);
    }
    s += literalBytes;
    d += literalBytes;
    if (s === sEnd) return d; // the last sequence has literals only
    if (s + 2 > sEnd) throw corrupt('truncated match offset');
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0 || offset > d) throw corrupt('match offset out of range');
    let matchBytes = (token & 15) + MIN_MATCH_BYTES;
    if ((token & 15) === 15) {
      let more: number;
      do {
        if (s >= sEnd) throw corrupt('truncated match length');
        more = src[s++] as number;
        matchBytes += more;
      } while (more === 255);
    }
    if (d + matchBytes > dEnd) throw corrupt('match overrun');
    copyMatch(out, d, offset, matchBytes);
    d += matchBytes;
  }
  throw corrupt('empty block');
}

function copyMatch(out: Buffer, at: number, offset: number, length: number): void {
  const from = at - offset;
  if (length < SHORT_COPY_BYTES) {
    for (let i = 0; i < length; i++) out[at + i] = out[from + i] as number;
  } else if (offset >= length) {
    out.copyWithin(at, from, from + length);
  } else if (offset === 1) {
    out.fill(out[from] as number, at, at + length);
  } else {
    // [from, at) repeats with period `offset`; each copy doubles the repeated span.
    let done = 0;
    while (done < length) {
      const take = Math.min(length - done, offset + done);
      out.copyWithin(at + done, from, from + take);
      done += take;
    }
  }
}
