/**
 * Ways to cut a byte vector into chunks, for decoder tests: whole, split at every offset, one byte at a time,
 * and seeded random splits (deterministic, so a failure reproduces).
 */
export function whole(bytes: Buffer): Buffer[][] {
  return [[bytes]];
}

export function everySplit(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) out.push([bytes.subarray(0, at), bytes.subarray(at)]);
  return out;
}

export function oneByteAtATime(bytes: Buffer): Buffer[][] {
  return [Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1))];
}

export function randomSplits(bytes: Buffer, seed: number, count: number): Buffer[][] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const out: Buffer[][] = [];
  for (let n = 0; n < count; n++) {
    const chunks: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(next() * Math.min(64, bytes.length - at));
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    out.push(chunks);
  }
  return out;
}

/** All of the above, each as a list of chunk lists. */
export function allChunkings(bytes: Buffer, seed = 42): Buffer[][] {
  return [...whole(bytes), ...everySplit(bytes), ...oneByteAtATime(bytes), ...randomSplits(bytes, seed, 16)];
}
