/** Runs a ByteFilter over chunks and collects its output, checking that no single output is unbounded. */
import { spawnSync } from 'node:child_process';
import type { ByteFilter } from '../../../../src/pipeline/compression/filter.ts';

export const MAX_OUTPUT_CHUNK_BYTES = 4 * 1024 * 1024 + 64 * 1024;

export async function runFilter(filter: ByteFilter, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const emit = async (chunk: Buffer): Promise<void> => {
    if (chunk.length > MAX_OUTPUT_CHUNK_BYTES) throw new Error(`output chunk of ${chunk.length} bytes`);
    out.push(chunk);
  };
  for (const chunk of chunks) await filter.write(chunk, emit);
  await filter.end(emit);
  return Buffer.concat(out);
}

export function split(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Mixed data: compressible runs, text, and incompressible noise (seeded). */
export function sampleData(bytes: number, seed = 7): Buffer {
  const data = Buffer.alloc(bytes);
  let state = seed;
  for (let at = 0; at < bytes; at += 8192) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const kind = state % 3;
    const end = Math.min(bytes, at + 8192);
    if (kind === 0) data.fill(state & 0xff, at, end);
    else if (kind === 1) data.write('the quick brown fox jumps over the lazy dog '.repeat(200), at, end - at, 'latin1');
    else for (let i = at; i < end; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      data[i] = state >>> 24;
    }
  }
  return data;
}

export function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function tool(name: string, args: string[], input: Buffer): Buffer {
  const result = spawnSync(name, args, { input, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${result.stderr.toString()}`);
  return result.stdout;
}
