/**
 * SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords: map non-ASCII spaces to U+0020, drop the
 * "commonly mapped to nothing" characters, normalise with NFKC. When the result would contain a prohibited
 * character, PostgreSQL falls back to the raw password bytes, and so does this, which makes the choice of
 * prohibited set harmless to approximate: we test the categories (controls, private use, surrogates,
 * non-characters, unassigned) rather than RFC 3454's exact tables, and skip the bidirectional rule.
 */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/gu;
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200c\u200d\u2060\ufe00-\ufe0f\ufeff]/gu;
const PROHIBITED = /[\p{Cc}\p{Co}\p{Cs}\p{Cn}\u2028\u2029\u2061-\u2064\u206a-\u206f\ufff9-\ufffd]/u;

export function saslPrep(password: string): string {
  if (/^[\x20-\x7e]*$/.test(password)) return password; // printable ASCII is its own SASLprep form
  const prepared = password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  if (prepared === '' || PROHIBITED.test(prepared)) return password;
  return prepared;
}
