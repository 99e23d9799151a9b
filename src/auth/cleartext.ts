/**
 * Cleartext password authentication (pg_hba method `password`): the password itself is the answer. Kept as a
 * step of its own so the connection's auth loop treats every method alike, and so the one place that
 * decides to send a password in the clear is easy to find.
 */
export function cleartextPasswordResponse(password: string): string {
  return password;
}
