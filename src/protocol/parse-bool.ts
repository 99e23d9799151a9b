/**
 * A boolean as PostgreSQL's parse_bool reads it, where the protocol takes one as text: the startup packet's
 * "replication" parameter and BASE_BACKUP's MANIFEST option. Any unambiguous prefix of true, false, yes or no,
 * "on", "of"/"off", "1" or "0", ASCII case folded; nothing trimmed. "o" alone is ambiguous and so refused.
 *
 * Not defGetBoolean (the other BASE_BACKUP booleans): that one takes only whole words and 0/1.
 */

const PREFIXED_WORDS: ReadonlyArray<readonly [string, boolean]> = [['true', true], ['false', false], ['yes', true], ['no', false]];

/** null: not a boolean PostgreSQL accepts. */
export function parseBool(text: string): boolean | null {
  const lower = text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  if (lower === '1' || lower === 'on') return true;
  if (lower === '0' || lower === 'of' || lower === 'off') return false;
  if (lower === '') return null;
  for (const [word, value] of PREFIXED_WORDS) if (word.startsWith(lower)) return value;
  return null;
}
