/**
 * --target-time vectors: what restore accepts, and what PostgreSQL 15 itself said of the same value as
 * recovery_target_time (`postgres -C recovery_target_time -c recovery_target_time=VALUE`, which runs the same
 * check as server start; the integration test re-asks every installed PostgreSQL). `ours` may refuse what
 * PostgreSQL accepts (the safe direction), never the reverse. Zone names are judged by a zone database holding
 * the names in ZONES_FOR_TESTS, as the unit tests' lookup does.
 */
export interface TargetTimeVector {
  readonly value: string;
  readonly ours: boolean;
  readonly postgres: boolean;
}

/** The zone names the vectors use that exist in every IANA zone database. */
export const ZONES_FOR_TESTS = ['Europe/Paris', 'America/New_York', 'US/Eastern', 'CET', 'EST5EDT', 'Etc/GMT+2', 'Etc/UTC', 'Zulu'];

const ok = (value: string): TargetTimeVector => ({ value, ours: true, postgres: true });
const refused = (value: string): TargetTimeVector => ({ value, ours: false, postgres: false });
/** PostgreSQL takes it, restore does not: relative, ambiguous or unusual forms. */
const stricter = (value: string): TargetTimeVector => ({ value, ours: false, postgres: true });

export const TARGET_TIME_VECTORS: readonly TargetTimeVector[] = [
  ok('2024-01-08 04:05:06+02'),
  ok('2024-01-08 04:05:06'),
  ok('2024-01-08T04:05:06'),
  ok('2024-01-08t04:05:06'),
  ok('2024-01-08T04:05:06+00'),
  ok('2024-01-08T04:05:06.5+00'),
  ok('2024-01-08T04:05:06.123456+02:00'),
  ok('2024-01-08 23:59:59.999999'),
  ok('2024-01-08 04:05:06 UTC'),
  ok('2024-01-08 04:05:06 utc'),
  ok('2024-01-08 04:05:06 GMT'),
  ok('2024-01-08T04:05:06 UTC'),
  ok('2024-01-08 04:05:06+0230'),
  ok('2024-01-08 04:05:06+02:30'),
  ok('2024-01-08 04:05:06-02:30'),
  ok('2024-01-08 04:05:06 +02'),
  ok('2024-01-08 04:05:06+2'),
  ok('2024-01-08 04:05:06+15'),
  ok('2024-01-08 04:05:06-15:59'),
  ok('2024-01-08 04:05:06+15:59:59'),
  ok('2024-01-08 04:05:06.5 +02'),
  ok('2024-01-08 04:05'),
  ok('2024-01-08T04:05'),
  ok('2024-01-08 4:05:06'),
  ok('2024-01-08 04:5:06'),
  ok('2024-01-08 04:05:6'),
  ok('2024-1-8 04:05:06'),
  ok('2024-01-08'),
  ok('2024-01-08 UTC'),
  ok('2024-01-08+02'),
  ok('2024-01-08  04:05:06'),
  ok(' 2024-01-08 04:05:06'),
  ok('2024-01-08 04:05:06 '),
  ok('2024-02-29 00:00:00'),
  ok('2000-02-29'),
  ok('0001-01-01 00:00:00+00'),
  ok('9999-12-31 23:59:59'),
  ok('2024-01-08 04:05:06 Europe/Paris'),
  ok('2024-01-08 04:05:06 europe/paris'),
  ok('2024-01-08 04:05:06 America/New_York'),
  ok('2024-01-08 04:05:06 US/Eastern'),
  ok('2024-01-08 04:05:06 CET'),
  ok('2024-01-08 04:05:06 EST5EDT'),
  ok('2024-01-08 04:05:06 Etc/GMT+2'),
  ok('2024-01-08 04:05:06 Etc/UTC'),
  ok('2024-01-08 04:05:06 Zulu'),

  refused('not a time'),
  refused('now'),
  refused('today'),
  refused('tomorrow'),
  refused('yesterday'),
  refused('epoch'),
  refused('infinity'),
  refused('-infinity'),
  refused('allballs'),
  // "Z" and abbreviations: the check runs before timezone_abbreviations is loaded, so the server will not start.
  refused('2024-01-08T04:05:06Z'),
  refused('2024-01-08 04:05:06Z'),
  refused('2024-01-08 04:05:06 Z'),
  refused('2024-01-08T04:05:06.123456Z'),
  refused('2024-01-08 04:05:06 PST'),
  refused('2024-01-08 04:05:06 CEST'),
  refused('2024-01-08 04:05:06 Nowhere/City'),
  refused('2024-01-08 04:05:06 Europe'),
  refused('2024-01-08 04:05:06+16'),
  refused('2024-01-08 04:05:06+1600'),
  refused('2023-02-29 00:00:00'),
  refused('1900-02-29'),
  refused('2024-04-31'),
  refused('2024-13-01'),
  refused('2024-00-10'),
  refused('2024-01-00'),
  refused('0000-01-01'),
  refused('2024-01-08 04:60'),
  refused('2024-01-08T04'),
  refused('2024-01-08 04'),

  // An empty recovery_target_time means no target to PostgreSQL; as --target-time it is a mistake.
  stricter(''),
  stricter('NOW'),
  stricter('today 12:00'),
  stricter('2024-01-08 allballs'),
  stricter('January 8 2024'),
  stricter('20240108 040506'),
  stricter('10000-01-01'),
  stricter('2024-01-08 24:00:00'),
  stricter('2024-01-08 04:05:60'),
  stricter('2024-01-08 04:05:06.1234567'),
  stricter('2024-01-08 04:05:06.'),
  stricter('2024-01-08 04:05:06 BC'),
  stricter('2024-01-08 04:05:06 AD'),
  // POSIX zone strings count hours west of UTC, the opposite of ISO offsets: a trap, not a recovery target.
  stricter('2024-01-08 04:05:06 UTC+2'),
];
