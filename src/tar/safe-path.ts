/**
 * Member names from an archive must stay inside the directory they are extracted into. This module owns that rule
 * for every tar name pgconvoy reads: no absolute paths, no '..' or '.' components (other than PostgreSQL's own
 * leading './' on './pg_wal/archive_status/' and './pg_wal/summaries/'), no empty components, no NUL, no backslash
 * (a Windows separator that would let 'a\..\..\x' slip past a '/'-only check).
 *
 * Works on latin1 strings (one char per byte) so it is independent of the name's encoding: every byte it looks
 * at is ASCII. Does not look at symlink targets (tablespace links are absolute by design); the extractor guards
 * against members written through a symlink.
 */
import { TarError } from '../errors/index.ts';

/** Returns the name without a leading './' and without trailing '/', or throws TAR_UNSAFE_PATH. */
export function normaliseMemberName(raw: string): string {
  const unsafe = (why: string): TarError =>
    new TarError('TAR_UNSAFE_PATH', `unsafe file name in tar archive: "${raw}" (${why})`, { details: { name: raw } });
  if (raw.includes('\u0000')) throw unsafe('contains NUL');
  if (raw.includes('\\')) throw unsafe('contains a backslash');
  if (raw.startsWith('/')) throw unsafe('absolute path');
  let name = raw.startsWith('./') ? raw.slice(2) : raw;
  while (name.endsWith('/')) name = name.slice(0, -1);
  if (name.length === 0) throw unsafe('empty name');
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') throw unsafe(`"${part}" component`);
  }
  return name;
}
