import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDrill, parseSettings, registerDrill } from '../../../src/cli/commands/drill.ts';
import type { DrillReport } from '../../../src/drill/index.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { runCommand } from '../repository/repo-fixtures.ts';
import { scratchDir } from '../repository/scratch-dirs.ts';

const PASSED: DrillReport = {
  ok: true, backupDir: '/b', format: 'tar', major: 15, bindir: '/usr/lib/postgresql/15/bin', scratchDir: '/tmp/s', kept: false,
  verify: { files: 966, bytes: 22 * 1024 * 1024, seconds: 0.4 }, restoreSeconds: 0.5,
  recovery: {
    secondsToConsistency: 0.04, consistentLsn: '0/3000100', secondsToReady: 0.06, replayStartLsn: '0/3000028', replayEndLsn: '0/3000148',
    walReplayedBytes: 288, timeline: 1,
  },
  amcheck: { ok: true, method: 'sql', tool: null, databases: 2, relationsChecked: 542, failures: [], seconds: 0.2 },
  checks: [{ sql: 'select true', ok: true, value: 't', rows: 1, error: null }], failure: null, notes: [], seconds: 1.25,
};

test('the text report names every stage and its measurements', () => {
  assert.deepEqual(describeDrill(PASSED), [
    'drill of "/b": PASSED in 1.3 s',
    '  backup:        tar, PostgreSQL 15 (started with "/usr/lib/postgresql/15/bin")',
    '  verified:      966 files, 22.0 MB (0.4 s)',
    '  restored:      in 0.5 s into "/tmp/s" (removed)',
    '  recovery:      consistent after 0.04 s at 0/3000100; accepting connections after 0.06 s, timeline 1',
    '  WAL replayed:  288 B (0/3000028..0/3000148: backup start to the last record replayed)',
    '  amcheck:       passed: amcheck extension, 542 relations, 2 databases, 0.2 s',
    '  check 1:       passed: select true -> t',
  ]);
});

test('a failure is named with the server\'s words', () => {
  const failed: DrillReport = {
    ...PASSED, ok: false, recovery: null, amcheck: null, checks: [],
    failure: { stage: 'start', message: 'the server did not start: FATAL:  WAL ends before end of online backup', detail: ['HINT:  All WAL ...'] },
  };
  const lines = describeDrill(failed);
  assert.equal(lines[0], 'drill of "/b": FAILED at start in 1.3 s');
  assert.deepEqual(lines.slice(-2), [
    '  failure:       the server did not start: FATAL:  WAL ends before end of online backup',
    '                 HINT:  All WAL ...',
  ]);
});

test('--set NAME=VALUE', () => {
  assert.deepEqual(parseSettings(['shared_buffers=128MB', 'work_mem = 4MB', 'search_path=a=b']), { shared_buffers: '128MB', work_mem: '4MB', search_path: 'a=b' });
  assert.throws(() => parseSettings(['=x']), (error) => error instanceof ConvoyError && error.code === 'OPTION_INVALID');
  assert.throws(() => parseSettings(['novalue']), (error) => error instanceof ConvoyError && error.code === 'OPTION_INVALID');
});

test('the text report names the recovery target after the backup', () => {
  const lines = describeDrill(PASSED, { kind: 'time', value: '2025-01-31 12:00:00+00' });
  const at = lines.findIndex((line) => line.startsWith('  target:'));
  assert.equal(lines[at], '  target:        time "2025-01-31 12:00:00+00"');
  assert.ok(lines[at - 1]?.startsWith('  restored:') === true && lines[at + 1]?.startsWith('  recovery:') === true, lines.join('\n'));
  assert.ok(describeDrill(PASSED, { kind: 'immediate' }).includes('  target:        immediate'));
  assert.ok(!describeDrill(PASSED).some((line) => line.startsWith('  target:')));
});

test('refused before anything runs: a backup directory with --repo, --restore-command with --repo, no backup, two targets', async () => {
  const repo = await scratchDir('drill-repo');
  assert.equal((await runCommand(registerDrill, 'drill', ['/some/backup', '--repo', repo])).code, 'OPTION_CONFLICT');
  assert.equal((await runCommand(registerDrill, 'drill', ['--repo', repo, '--restore-command', 'cp x y'])).code, 'OPTION_CONFLICT');
  assert.equal((await runCommand(registerDrill, 'drill', [])).code, 'OPTION_INVALID');
  assert.equal((await runCommand(registerDrill, 'drill', ['--repo', repo, '--target-immediate', '--target-name', 'n'])).code, 'OPTION_CONFLICT');
});
