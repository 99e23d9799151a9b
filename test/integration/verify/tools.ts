/**
 * What verify's integration tests need around the harness: the real pg_basebackup and pg_verifybackup, GNU tar
 * to extract tar-format backups for pg_verifybackup 15 (which reads only plain backups) and to damage archives,
 * and a tar header walk to find a member's data in an archive.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool } from '../harness/psql.ts';
import { runTool, type TestCluster, type ToolRun } from '../harness.ts';

export type { ToolRun };

/** Runs a tool; `cwd` optional. */
export function run(path: string, args: string[], cwd?: string): Promise<ToolRun> {
  return runTool(path, args, cwd === undefined ? {} : { cwd });
}

export async function basebackup(cluster: TestCluster, dir: string, args: string[]): Promise<string> {
  const result = await run(requireTool(cluster, 'pg_basebackup'),
    ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-D', dir, '-c', 'fast', ...args]);
  assert.equal(result.status, 0, result.stderr);
  return dir;
}

const TAR_FLAGS: Record<string, string[]> = { '.tar': [], '.tar.gz': ['-z'], '.tar.lz4': ['-I', 'lz4'], '.tar.zst': ['--zstd'] };

/**
 * A tar-format backup laid out as a plain one (base.tar at the top, <oid>.tar under pg_tblspc/<oid>, pg_wal.tar
 * in pg_wal) so that pg_verifybackup 15 can judge it. Other files are copied as they are. The extraction
 * status is returned too: a damaged archive makes tar fail, and what it did extract is still judged.
 */
export async function extractTarBackup(tarDir: string, into: string): Promise<boolean> {
  let ok = true;
  await mkdir(join(into, 'pg_wal'), { recursive: true });
  for (const name of (await readdir(tarDir)).sort()) {
    const match = /^(base|pg_wal|[0-9]+)(\.tar(?:\.gz|\.lz4|\.zst)?)$/.exec(name);
    if (match === null) {
      await copyFile(join(tarDir, name), join(into, name));
      continue;
    }
    const kind = match[1] as string;
    const target = kind === 'base' ? into : kind === 'pg_wal' ? join(into, 'pg_wal') : join(into, 'pg_tblspc', kind);
    await mkdir(target, { recursive: true });
    const result = await run('tar', [...(TAR_FLAGS[match[2] as string] ?? []), '-xf', join(tarDir, name), '-C', target]);
    if (result.status !== 0) ok = false;
  }
  return ok;
}

export async function pgVerifybackup(cluster: TestCluster, dir: string, args: string[] = []): Promise<ToolRun> {
  return run(requireTool(cluster, 'pg_verifybackup'), [...args, dir]);
}

/** Offset of a member's data in an uncompressed tar file, and its size. */
export function memberData(tarPath: string, member: string): { offset: number; size: number } {
  const fd = openSync(tarPath, 'r');
  try {
    const header = Buffer.alloc(512);
    let at = 0;
    for (;;) {
      if (readSync(fd, header, 0, 512, at) < 512 || header.every((byte) => byte === 0)) break;
      const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '').replace(/^\.\//, '');
      const size = Number.parseInt(header.subarray(124, 136).toString('latin1').replace(/[\0 ]/g, '') || '0', 8);
      if (name === member) return { offset: at + 512, size };
      at += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`no member "${member}" in ${tarPath}`);
}
