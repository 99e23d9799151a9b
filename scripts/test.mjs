#!/usr/bin/env node
// Runs every *.test.ts below the given folders (default: test/) with node's test runner, TypeScript through tsx.
// Node 20's runner does not expand globs itself, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(path, into) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) collect(join(path, entry), into);
  } else if (path.endsWith('.test.ts')) {
    into.push(path);
  }
  return into;
}

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const files = (roots.length > 0 ? roots : ['test']).flatMap((root) => collect(root, []));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
