/**
 * --target-time against the real judge: every vector of the unit tests is given to each installed PostgreSQL as
 * recovery_target_time (`postgres -C` on a fresh, never started data directory runs the same check as server
 * start), and restore's own check, with this machine's zone database, must never accept a value PostgreSQL
 * refuses. PostgreSQL's verdicts must also still be the ones recorded in the vectors (15's; in the other majors
 * for every value restore accepts and every value both refuse). And the command itself: a refused value exits 1
 * with one error line and a hint, and nothing is written.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkTargetTime } from '../../../src/restore/target-time.ts';
import { reachableBindir, serverRunAs } from '../../../src/cluster/os-user.ts';
import { LocalCluster, majorMatrix, tmpDir } from '../harness.ts';
import { TARGET_TIME_VECTORS } from '../../unit/restore/target-time-vectors.ts';
import { runCommand } from './cli-runner.ts';

/** The major whose verdicts the vectors record. */
const RECORDED_MAJOR = 15;
/** Per major: the postgres binary (where the server user can reach it) and a data directory for it to read. */
const servers = new Map<number, { postgres: string; dataDir: string }>();

before(async () => {
  for (const { major, install } of majorMatrix()) {
    if (install === null) continue;
    const cluster = await LocalCluster.init({ install, dataDir: join(await tmpDir(`target-time-${major}`), 'data'), noSync: true });
    servers.set(major, { postgres: join(await reachableBindir(install.bindir), 'postgres'), dataDir: cluster.dataDir });
  }
});

/** PostgreSQL's verdict: `postgres -C` exits 1 with a FATAL naming the setting (in 14: the time zone) when it refuses. */
function postgresAccepts(major: number, value: string): boolean {
  const server = servers.get(major);
  assert.ok(server !== undefined);
  const runAs = serverRunAs(); // postgres refuses to run as root
  const run = spawnSync(server.postgres, ['-D', server.dataDir, '-C', 'recovery_target_time', '-c', `recovery_target_time=${value}`], {
    encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' }, ...(runAs === null ? {} : { uid: runAs.uid, gid: runAs.gid }),
  });
  if (run.status !== 0) assert.match(run.stderr, /FATAL: .*(recovery_target_time|time zone)/, `${major} "${value}": ${run.stderr}`);
  return run.status === 0;
}

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major} accepts every recovery_target_time restore accepts, and refuses the ones recorded as refused`, { skip }, () => {
    const disagreements: string[] = [];
    for (const vector of TARGET_TIME_VECTORS) {
      const accepted = postgresAccepts(major, vector.value);
      let ours = true;
      try {
        checkTargetTime(vector.value);
      } catch {
        ours = false;
      }
      assert.ok(accepted || !ours, `restore accepts "${vector.value}", PostgreSQL ${major} refuses it`);
      // Values only restore refuses may fare differently in other majors (14 refuses "04:05:06."): no matter.
      const isRecorded = major === RECORDED_MAJOR || vector.ours === vector.postgres;
      if (isRecorded && accepted !== vector.postgres) disagreements.push(`"${vector.value}": PostgreSQL ${major} ${accepted ? 'accepts' : 'refuses'} it`);
    }
    assert.deepEqual(disagreements, [], 'the vectors record what PostgreSQL says');
  });
}

test('pgconvoy restore --target-time with a refused value: exit 1, one error line and a hint, nothing written', async () => {
  const work = await tmpDir('target-time-cli');
  const target = join(work, 'new');
  for (const value of ['not a time', '2024-01-08T04:05:06Z', 'now']) {
    const run = await runCommand(['restore', join(work, 'backup'), '-D', target, '--target-time', value]);
    assert.equal(run.status, 1, `${value}: ${run.stderr}`);
    assert.match(run.stderr, /^pgconvoy: error: invalid recovery target time .*\npgconvoy: hint: .+\n$/, value);
    assert.equal(existsSync(target), false);
  }
});
