import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerArchive } from '../../../src/cli/commands/archive.ts';
import { runCommand } from './repo-fixtures.ts';
import { scratchDir } from './scratch-dirs.ts';

test('-Z: what a segment compressed by archive cannot use is refused before connecting', async () => {
  const repo = await scratchDir('archive-z');
  const archive = (compress: string): ReturnType<typeof runCommand> => runCommand(registerArchive, 'archive', ['--repo', repo, '-Z', compress]);
  for (const compress of ['server-gzip', 'zstd:workers=2', 'zstd:long', 'brotli']) assert.equal((await archive(compress)).code, 'OPTION_INVALID', compress);
  assert.equal((await archive('gzip:10')).code, 'OPTION_OUT_OF_RANGE');
});
