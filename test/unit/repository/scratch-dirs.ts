/** Throwaway directories for the repository unit tests, removed when the test file ends. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const roots: string[] = [];
after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

export async function scratchDir(prefix: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `pgconvoy-${prefix}-`));
  roots.push(root);
  return root;
}
