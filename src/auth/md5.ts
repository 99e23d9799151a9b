/**
 * MD5 password authentication: the server sends a 4-byte salt and expects
 * "md5" + hex(md5(hex(md5(password + user)) + salt)). The double hash lets the server store only the inner
 * digest. Weak by today's standards; supported because clusters still carry md5 roles.
 */
import { createHash } from 'node:crypto';

export function md5PasswordResponse(user: string, password: string, salt: Uint8Array): string {
  const inner = createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
  const outer = createHash('md5').update(inner, 'latin1').update(salt).digest('hex');
  return `md5${outer}`;
}
