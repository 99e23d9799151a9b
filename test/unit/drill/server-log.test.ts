import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureLines, readRecoveryEvents } from '../../../src/drill/server-log.ts';

const RECOVERED_15 = `2026-11-25 09:38:28.824 UTC [21331] LOG:  starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu
2026-11-25 09:38:28.833 UTC [21334] LOG:  database system was interrupted; last known up at 2026-11-25 09:38:27 UTC
2026-11-25 09:38:28.901 UTC [21334] LOG:  starting backup recovery with redo LSN 0/2000028, checkpoint LSN 0/2000060, on timeline ID 1
2026-11-25 09:38:28.932 UTC [21334] LOG:  redo starts at 0/2000028
2026-11-25 09:38:28.965 UTC [21334] LOG:  completed backup recovery with redo LSN 0/2000028 and end LSN 0/2000100
2026-11-25 09:38:28.965 UTC [21334] LOG:  consistent recovery state reached at 0/2000100
2026-11-25 09:38:28.966 UTC [21334] LOG:  redo done at 0/2000148 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.03 s
2026-11-25 09:38:29.020 UTC [21331] LOG:  database system is ready to accept connections
`;

test('recovery events: consistency time and LSN, end of redo, readiness (15 wording)', () => {
  assert.deepEqual(readRecoveryEvents(RECOVERED_15), {
    consistentAtMs: Date.UTC(2026, 10, 25, 9, 38, 28, 965), consistentLsn: 0x2000100n, redoDoneLsn: 0x2000148n,
    readyAtMs: Date.UTC(2026, 10, 25, 9, 38, 29, 20),
  });
});

test('recovery events: 13 wording (no system usage), read-only readiness, no prefix, nothing logged', () => {
  const log13 = 'LOG:  consistent recovery state reached at 1/AB000100\nLOG:  redo done at 1/AB000200\n'
    + '2026-01-02 03:04:05.6 UTC [7] LOG:  database system is ready to accept read-only connections\n';
  assert.deepEqual(readRecoveryEvents(log13), {
    consistentAtMs: null, consistentLsn: 0x1ab000100n, redoDoneLsn: 0x1ab000200n, readyAtMs: Date.UTC(2026, 0, 2, 3, 4, 5, 600),
  });
  assert.deepEqual(readRecoveryEvents(''), { consistentAtMs: null, consistentLsn: null, redoDoneLsn: null, readyAtMs: null });
});

test('failure lines: FATAL and PANIC with their DETAIL and HINT, prefix removed, repeats dropped', () => {
  const log = `${RECOVERED_15.split('\n').slice(0, 4).join('\n')}
2026-11-25 09:40:00.001 UTC [21334] FATAL:  WAL ends before end of online backup
2026-11-25 09:40:00.001 UTC [21334] HINT:  All WAL generated while online backup was taken must be available at recovery.
2026-11-25 09:40:00.002 UTC [21331] LOG:  startup process (PID 21334) exited with exit code 1
postgres: could not access the server configuration file "/x/postgresql.conf": No such file or directory
2026-11-25 09:40:00.003 UTC [21335] FATAL:  WAL ends before end of online backup
2026-11-25 09:40:00.004 UTC [21336] PANIC:  could not locate a valid checkpoint record
`;
  assert.deepEqual(failureLines(log), [
    'FATAL:  WAL ends before end of online backup',
    'HINT:  All WAL generated while online backup was taken must be available at recovery.',
    'PANIC:  could not locate a valid checkpoint record',
  ]);
  assert.deepEqual(failureLines(RECOVERED_15), []);
});
