/**
 * Hand-built tar header blocks for the codec tests. Written field by field from the ustar layout (and the bytes of
 * an observed PostgreSQL 15 header), never with src/tar's encoder, so encoder and decoder are each checked against
 * an independent construction.
 */
export interface HandHeader {
  name: string;
  mode?: string; // the literal 8-byte field text, e.g. '0000600 '
  uid?: string;
  gid?: string;
  size?: string | Buffer; // 12-byte field text, or raw bytes for base-256
  mtime?: string;
  typeflag?: string;
  linkname?: string;
  magic?: string; // 8 bytes: magic + version
  checksum?: string; // override the computed field (e.g. to corrupt it)
  uname?: string;
  prefix?: string;
}

export function handBuiltHeader(fields: HandHeader): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 'latin1');
  block.write(fields.mode ?? '0000600 ', 100, 'latin1');
  block.write(fields.uid ?? '0000145 ', 108, 'latin1');
  block.write(fields.gid ?? '0000150 ', 116, 'latin1');
  if (Buffer.isBuffer(fields.size)) fields.size.copy(block, 124);
  else block.write(fields.size ?? '00000000000 ', 124, 'latin1');
  block.write(fields.mtime ?? '15301515016 ', 136, 'latin1');
  block.write(fields.typeflag ?? '0', 156, 'latin1');
  block.write(fields.linkname ?? '', 157, 'latin1');
  block.write(fields.magic ?? 'ustar\u000000', 257, 'latin1');
  block.write(fields.uname ?? 'postgres', 265, 'latin1');
  block.write(fields.uname ?? 'postgres', 297, 'latin1');
  block.write('0000000 ', 329, 'latin1');
  block.write('0000000 ', 337, 'latin1');
  if (fields.prefix !== undefined) block.write(fields.prefix, 345, 'latin1');
  block.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(fields.checksum ?? `${sum.toString(8).padStart(7, '0')} `, 148, 'latin1');
  return block;
}

/** The backup_label header of an observed 15.20 base.tar (reference §10.2), checksum as observed: "0015512 ". */
export function observedBackupLabelHeader(): Buffer {
  return handBuiltHeader({ name: 'backup_label', mode: '0000600 ', uid: '0000145 ', gid: '0000150 ', size: '00000000321 ', mtime: '15301515016 ', checksum: '0015512 ' });
}

export function zeroBlocks(count: number): Buffer {
  return Buffer.alloc(512 * count);
}

export function padded(content: Buffer): Buffer {
  return Buffer.concat([content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
}
