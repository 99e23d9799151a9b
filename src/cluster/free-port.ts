/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it when we bind port 0. Another process
 * may take it before the server binds it, so callers retry on "Address already in use" with a fresh port.
 */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('could not obtain a free port'))));
    });
  });
}
