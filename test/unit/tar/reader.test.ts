import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReader, type TarEvent } from '../../../src/tar/reader.ts';
import { TarError } from '../../../src/errors/index.ts';
import { allChunkings, everySplit, oneByteAtATime } from '../../helpers/chunkings.ts';
import { handBuiltHeader, observedBackupLabelHeader, padded, zeroBlocks } from './tar-vectors.ts';

interface Summary { members: { name: string; type: string; size: number; linkname: string; data: string }[]; ended: boolean }

function read(chunks: Buffer[], finish = true): Summary {
  const reader = new TarReader();
  const summary: Summary = { members: [], ended: false };
  let open: Buffer[] | null = null;
  const apply = (event: TarEvent): void => {
    if (event.type === 'member') {
      assert.equal(open, null, 'member inside member');
      open = [];
      summary.members.push({ name: event.header.name, type: event.header.type, size: event.header.size, linkname: event.header.linkname, data: '' });
    } else if (event.type === 'data') {
      assert.ok(open !== null, 'data outside member');
      open.push(event.chunk);
    } else if (event.type === 'member-end') {
      assert.ok(open !== null);
      const last = summary.members.at(-1);
      assert.ok(last);
      last.data = Buffer.concat(open).toString('latin1');
      assert.equal(last.data.length, last.size);
      open = null;
    } else {
      assert.equal(summary.ended, false);
      summary.ended = true;
    }
  };
  for (const chunk of chunks) for (const event of reader.push(chunk)) apply(event);
  if (finish) reader.end();
  return summary;
}

const label = Buffer.alloc(209, 'L');
const archive = Buffer.concat([
  observedBackupLabelHeader(), padded(label),
  handBuiltHeader({ name: './pg_wal/archive_status/', typeflag: '5', mode: '0000700 ' }),
  handBuiltHeader({ name: 'pg_tblspc/16384/', typeflag: '2', mode: '0000777 ', linkname: '/srv/pg/ts1' }),
  handBuiltHeader({ name: 'base/5/16388_init' }),
  handBuiltHeader({ name: 'exact', size: '00000001000 ' }), Buffer.alloc(512, 'E'),
  zeroBlocks(2), Buffer.alloc(700), // trailing record padding as GNU tar writes it
]);
const expected: Summary = {
  ended: true,
  members: [
    { name: 'backup_label', type: 'file', size: 209, linkname: '', data: label.toString('latin1') },
    { name: 'pg_wal/archive_status', type: 'directory', size: 0, linkname: '', data: '' },
    { name: 'pg_tblspc/16384', type: 'symlink', size: 0, linkname: '/srv/pg/ts1', data: '' },
    { name: 'base/5/16388_init', type: 'file', size: 0, linkname: '', data: '' },
    { name: 'exact', type: 'file', size: 512, linkname: '', data: 'E'.repeat(512) },
  ],
};

test('reads a PostgreSQL-shaped archive under every chunking', () => {
  for (const chunks of allChunkings(archive)) assert.deepEqual(read(chunks), expected);
});

test('data events are subarrays of the pushed input', () => {
  const reader = new TarReader();
  const events = reader.push(archive);
  const data = events.find((event) => event.type === 'data');
  assert.ok(data?.type === 'data');
  assert.equal(data.chunk.buffer, archive.buffer);
});

test('truncation anywhere is TAR_TRUNCATED at end()', () => {
  for (let cut = 0; cut < 512 * 5; cut += 97) {
    assert.throws(() => read([archive.subarray(0, cut)]), (error: unknown) => error instanceof TarError && error.code === 'TAR_TRUNCATED', `cut ${cut}`);
  }
  // One zero block is not the end of an archive.
  const oneZero = Buffer.concat([handBuiltHeader({ name: 'f' }), zeroBlocks(1)]);
  assert.throws(() => read([oneZero]), (error: unknown) => error instanceof TarError && error.code === 'TAR_TRUNCATED');
  assert.throws(() => read([]), (error: unknown) => error instanceof TarError && error.code === 'TAR_TRUNCATED');
});

test('bad checksum found at every split point', () => {
  const bad = Buffer.concat([handBuiltHeader({ name: 'f', checksum: '0000001 ' }), zeroBlocks(2)]);
  for (const chunks of [...everySplit(bad), ...oneByteAtATime(bad)]) {
    assert.throws(() => read(chunks), (error: unknown) => error instanceof TarError && error.code === 'TAR_CHECKSUM_MISMATCH');
  }
});

test('large sizes stay numbers beyond 2^32', () => {
  const raw = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]);
  const reader = new TarReader();
  const events = reader.push(handBuiltHeader({ name: 'big', size: raw }));
  assert.equal(events[0]?.type === 'member' && events[0].header.size, 2 ** 33);
  const more = reader.push(Buffer.alloc(1000, 1));
  assert.equal(more.length, 1);
  assert.throws(() => reader.end(), (error: unknown) => error instanceof TarError && error.code === 'TAR_TRUNCATED');
});

test('reads an archive produced by GNU tar (gnu and ustar formats)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-tar-'));
  try {
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/a.txt'), 'hello\n');
    writeFileSync(join(dir, 'src/sub/big.bin'), Buffer.alloc(70000, 7));
    writeFileSync(join(dir, 'src/empty'), '');
    symlinkSync('/srv/elsewhere', join(dir, 'src/link'));
    for (const format of ['gnu', 'ustar']) {
      const bytes = execFileSync('tar', ['-c', `--format=${format}`, '--sort=name', '-C', join(dir, 'src'), 'a.txt', 'empty', 'link', 'sub']);
      for (const chunks of [[bytes], ...randomChunks(bytes)]) {
        const summary = read(chunks);
        assert.equal(summary.ended, true);
        const byName = new Map(summary.members.map((member) => [member.name, member]));
        assert.equal(byName.get('a.txt')?.data, 'hello\n');
        assert.equal(byName.get('sub/big.bin')?.size, 70000);
        assert.equal(byName.get('empty')?.size, 0);
        assert.equal(byName.get('sub')?.type, 'directory');
        assert.equal(byName.get('link')?.type, 'symlink');
        assert.equal(byName.get('link')?.linkname, '/srv/elsewhere');
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function randomChunks(bytes: Buffer): Buffer[][] {
  const sizes = [1, 511, 512, 513, 4096, 65536];
  return sizes.map((size) => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
    return chunks;
  });
}

test('keepHeaderBytes hands back each raw header in member order', () => {
  const reader = new TarReader({ keepHeaderBytes: true });
  const events = reader.push(archive);
  const raw = events.filter((event) => event.type === 'member').map(() => reader.shiftHeaderBytes());
  assert.equal(raw.length, 5);
  assert.deepEqual(raw[1], archive.subarray(512 * 2, 512 * 3)); // './pg_wal/archive_status/' exactly as sent
  assert.equal(reader.shiftHeaderBytes(), undefined);
  assert.equal(new TarReader().shiftHeaderBytes(), undefined);
});
