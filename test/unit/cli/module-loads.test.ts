/**
 * What `pgconvoy backup` loads: only its own path. The native compression libraries (a few MB of RSS each), and
 * verify and the repository (which --repo alone needs), are imported at first use, so a plain backup never maps
 * them. Checked in a child process that records every module resolved while the backup command registers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-loads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('backup --help loads no compression library, verify or repository module', () => {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  process.stderr.write('resolved ' + found.url + '\\n');
  return found;
}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const main = new URL('../../../src/cli/main.ts', import.meta.url);
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(register).href, '--input-type=module', '-e',
    `const { main } = await import(${JSON.stringify(main.href)});
     const sink = { write() { return true; } };
     process.exitCode = await main(['backup', '--help'], { stdout: sink, stderr: sink, env: {}, signal: new AbortController().signal, setExitStatus() {} });`,
  ], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const loaded = child.stderr.split('\n').filter((line) => line.startsWith('resolved ')).map((line) => line.slice('resolved '.length));
  assert.ok(loaded.some((url) => url.endsWith('/src/cli/commands/backup.ts')), 'the backup command itself was loaded');
  const unwanted = loaded.filter((url) => /zstd-napi|lz4-napi|@node-rs\/crc32|\/src\/(verify|repository|restore)\//.test(url));
  assert.deepEqual(unwanted, []);
});
