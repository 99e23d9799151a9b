/**
 * A throwaway self-signed certificate (EC P-256, CA:TRUE, SAN localhost and 127.0.0.1) for SSL test clusters,
 * made by the openssl command line so it is independent of Node's TLS stack that our client uses.
 */
import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chownForServer } from '../../../src/cluster/os-user.ts';

export const SSL_CERT_FILE = 'server.crt';
export const SSL_KEY_FILE = 'server.key';

/** Writes server.crt and server.key into `dataDir`; returns the certificate's path (a client's root cert). */
export async function writeSelfSignedCert(dataDir: string): Promise<string> {
  const certPath = join(dataDir, SSL_CERT_FILE);
  const keyPath = join(dataDir, SSL_KEY_FILE);
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-keyout', keyPath, '-out', certPath,
  ], { timeout: 30_000 });
  // PostgreSQL refuses a key readable by group or others.
  await chmod(keyPath, 0o600);
  await chownForServer(keyPath);
  await chownForServer(certPath);
  return certPath;
}
