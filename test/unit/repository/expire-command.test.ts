import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { registerExpire } from '../../../src/cli/commands/expire.ts';
import { registerInfo } from '../../../src/cli/commands/info.ts';
import { recordBytes, runningRecord } from '../../../src/repository/backup-catalog.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { completeRecord, repository, runCommand } from './repo-fixtures.ts';
import { scratchDir } from './scratch-dirs.ts';

const expire = (args: string[]): ReturnType<typeof runCommand> => runCommand(registerExpire, 'expire', args);
const seg = (segno: number): string => `0000000100000000${segno.toString(16).toUpperCase().padStart(8, '0')}`;
const OLD = '20250101T000000.000Z-aaaaaa';
const MID = '20250102T000000.000Z-bbbbbb';
const NEW = '20250103T000000.000Z-cccccc';

/** Three complete backups (starting in segments 2, 4 and 6) with a file each, and WAL segments 1 to 7. */
async function repositoryWithBackups(): Promise<{ repo: string; storage: LocalStorage }> {
  const repo = await repository([1, 2, 3, 4, 5, 6, 7].map(seg), 'expire');
  const storage = new LocalStorage(repo);
  for (const [id, segno] of [[OLD, 2], [MID, 4], [NEW, 6]] as const) {
    await storage.put(`backups/${id}/backup.json`, recordBytes(completeRecord(id, `0/${segno}000028`, `0/${segno}000100`, `${id.slice(0, 4)}-01-0${segno / 2}T00:00:05.000Z`)));
    await storage.put(`backups/${id}/backup/base.tar`, Buffer.from('data'));
  }
  return { repo, storage };
}

test('--dry-run says what would go and removes nothing', async () => {
  const { repo } = await repositoryWithBackups();
  const before = await readdir(join(repo, 'wal'));
  const result = await expire(['--repo', repo, '--keep', '1', '--dry-run']);
  assert.equal(result.status, 0);
  assert.equal(result.stdout,
    `would remove backup ${OLD} "label ${OLD}" (0/2000028..0/2000100, 2025-01-01T00:00:05.000Z)\n` +
    `would remove backup ${MID} "label ${MID}" (0/4000028..0/4000100, 2025-01-02T00:00:05.000Z)\n` +
    `would remove 5 WAL files: ${seg(1)} to ${seg(5)}\n` +
    `kept: 1 backup (${NEW}), WAL from 0/6000000\n`);
  assert.deepEqual(await readdir(join(repo, 'backups')), [OLD, MID, NEW]);
  assert.deepEqual(await readdir(join(repo, 'wal')), before);
});

test('--keep 2: the oldest backup and the WAL before the next one go; info reads the rest without a gap', async () => {
  const { repo } = await repositoryWithBackups();
  const result = await expire(['--repo', repo, '--keep', '2', '--json']);
  assert.equal(result.status, 0);
  assert.deepEqual(JSON.parse(result.stdout), {
    dryRun: false, removedBackups: [OLD], keptBackups: [MID, NEW], removedWal: [seg(1), seg(2), seg(3)], walKeptFromLsn: '0/4000000', leftoverTrash: [], tookOverLock: null,
  });
  assert.deepEqual(await readdir(join(repo, 'backups')), [MID, NEW]);
  assert.deepEqual(await readdir(join(repo, 'trash')), []);
  assert.deepEqual((await readdir(join(repo, 'wal'))).sort(), [4, 5, 6, 7].map(seg));
  const info = await runCommand(registerInfo, 'info', ['--repo', repo, '--json']);
  assert.equal(info.status, 0);
  const parsed = JSON.parse(info.stdout) as { backups: Array<{ id: string; walCovered: boolean }>; wal: { gaps: unknown[] } };
  assert.deepEqual(parsed.backups.map((backup) => [backup.id, backup.walCovered]), [[MID, true], [NEW, true]]);
  assert.deepEqual(parsed.wal.gaps, []);
});

test('a running backup keeps the WAL from its start; one without a start LSN keeps all WAL', async () => {
  const { repo, storage } = await repositoryWithBackups();
  const running = runningRecord({ id: '20250104T000000.000Z-dddddd', label: 'r', format: 'tar', walMethod: 'stream', systemId: '1' });
  await storage.put(`staging/${running.id}/backup.json`, recordBytes(running));
  const unknown = JSON.parse((await expire(['--repo', repo, '--keep', '1', '--json'])).stdout) as { removedBackups: string[]; removedWal: string[] };
  assert.deepEqual(unknown.removedBackups, [OLD, MID]);
  assert.deepEqual(unknown.removedWal, []);
  await storage.put(`staging/${running.id}/backup.json`, recordBytes({ ...running, startLsn: '0/3000028' }));
  const known = JSON.parse((await expire(['--repo', repo, '--keep', '1', '--json'])).stdout) as { removedWal: string[] };
  assert.deepEqual(known.removedWal, [seg(1), seg(2)]);
});

test('an expire interrupted after a backup left the catalog: the next one removes its trash first', async () => {
  const { repo, storage } = await repositoryWithBackups();
  await storage.moveTree(`backups/${OLD}`, `trash/${OLD}`);
  const listed = await runCommand(registerInfo, 'info', ['--repo', repo, '--json']);
  assert.deepEqual((JSON.parse(listed.stdout) as { backups: Array<{ id: string }> }).backups.map((backup) => backup.id), [MID, NEW]);
  const result = await expire(['--repo', repo, '--keep', '2']);
  assert.equal(result.stdout.split('\n')[0], `removed the rest of an interrupted expire: trash/${OLD}`);
  assert.deepEqual(await readdir(join(repo, 'trash')), []);
  assert.deepEqual(await readdir(join(repo, 'backups')), [MID, NEW]);
});

test('refused: no policy, both policies, out-of-range values, a directory that is not a repository', async () => {
  const { repo } = await repositoryWithBackups();
  assert.equal((await expire(['--repo', repo])).code, 'OPTION_INVALID');
  assert.equal((await expire(['--repo', repo, '--keep', '1', '--keep-days', '3'])).code, 'OPTION_CONFLICT');
  for (const value of ['0', '-1', '1.5', 'x']) assert.equal((await expire(['--repo', repo, '--keep', value])).code, 'OPTION_OUT_OF_RANGE', value);
  for (const value of ['0', '-2', 'x', '']) assert.equal((await expire(['--repo', repo, '--keep-days', value])).code, 'OPTION_OUT_OF_RANGE', value);
  assert.equal((await expire(['--repo', await scratchDir('not-a-repo'), '--keep', '1'])).code, 'REPOSITORY_INVALID');
  assert.deepEqual(await readdir(join(repo, 'backups')), [OLD, MID, NEW]);
});

test('an expire while another holds the lock is refused and removes nothing; a dead holder\'s lock is taken over, and released after', async (t) => {
  const { repo } = await repositoryWithBackups();
  const lockPath = join(repo, 'expire.lock');
  const holder = spawn('sleep', ['60']);
  t.after(() => holder.kill('SIGKILL'));
  await writeFile(lockPath, JSON.stringify({ pid: holder.pid, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', token: 'aaaa' }));
  for (const args of [['--keep', '1'], ['--keep', '1', '--dry-run']]) assert.equal((await expire(['--repo', repo, ...args])).code, 'REPOSITORY_LOCKED');
  assert.deepEqual(await readdir(join(repo, 'backups')), [OLD, MID, NEW]);

  holder.kill('SIGKILL');
  await once(holder, 'exit');
  const result = await expire(['--repo', repo, '--keep', '1', '--json']);
  assert.equal(result.status, 0);
  assert.deepEqual((JSON.parse(result.stdout) as { tookOverLock: unknown }).tookOverLock,
    { pid: holder.pid, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', token: 'aaaa' });
  assert.deepEqual(await readdir(join(repo, 'backups')), [NEW]);
  assert.ok(!(await readdir(repo)).some((name) => name.includes('lock')), 'no lock left behind');
});
