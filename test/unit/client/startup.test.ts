import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { connect, parseServerVersionNum } from '../../../src/client/connection.ts';
import { resolveConnectionParams } from '../../../src/client/conninfo.ts';
import { cstr, errorResponse, i32, message, u8 } from '../protocol/wire-builder.ts';
import { scriptedServer } from './scripted-server.ts';

test('server_version to number as libpq derives it', () => {
  const table: Array<[string, number]> = [
    ['15.18 (Debian 15.18-0+deb12u1)', 150018], ['13.16', 130016], ['18.6', 180006], ['18devel', 180000],
    ['16beta1', 160000], ['14.23', 140023], ['9.6.24', 90624], ['', 0],
  ];
  for (const [text, expected] of table) assert.equal(parseServerVersionNum(text), expected, text);
});

test('startup sends the parameters and reads server facts', async () => {
  let startup: Record<string, string> = {};
  const server = await scriptedServer(async (peer) => {
    startup = await peer.acceptStartup('15.18 (Debian 15.18-0+deb12u1)');
    assert.equal((await peer.readMessage()).type, 'X');
  });
  try {
    const session = await connect(server.params);
    assert.equal(session.serverVersionNum, 150018);
    assert.equal(session.serverVersion, '15.18 (Debian 15.18-0+deb12u1)');
    assert.equal(session.backendPid, 4242);
    assert.equal(session.parameters.get('integer_datetimes'), 'on');
    await session.close();
    await server.done;
    assert.deepEqual(startup, { user: 'tester', database: 'replication', replication: 'true', application_name: 'test', client_encoding: 'UTF8' });
  } finally {
    await server.close();
  }
});

test('cleartext and md5 answers; the password survives spreading the params', async () => {
  const answers: string[] = [];
  const server = await scriptedServer(async (peer) => {
    await peer.readStartup();
    peer.write(message('R', i32(3)));
    answers.push((await peer.readMessage()).body.toString());
    peer.write(message('R', i32(5), Buffer.from([1, 2, 3, 4])));
    answers.push((await peer.readMessage()).body.toString());
    peer.write(Buffer.concat([message('R', i32(0)), message('Z', Buffer.from('I'))]));
  });
  try {
    const resolved = resolveConnectionParams({ host: '127.0.0.1', port: server.params.port, user: 'user', password: 'pencil', sslmode: 'disable' }, {}, { onWarning: () => {} });
    const session = await connect({ ...resolved, replication: 'true' });
    session.destroy();
    await server.done;
    const inner = createHash('md5').update('penciluser').digest('hex');
    const md5 = `md5${createHash('md5').update(inner).update(Buffer.from([1, 2, 3, 4])).digest('hex')}`;
    assert.deepEqual(answers, ['pencil\0', `${md5}\0`]);
  } finally {
    await server.close();
  }
});

async function startupFailure(reply: Buffer, params: { password?: string } = {}): Promise<unknown> {
  const server = await scriptedServer(async (peer) => {
    await peer.readStartup();
    peer.write(reply);
    await peer.readMessage().catch(() => {});
  });
  try {
    await connect({ ...server.params, ...params });
    return null;
  } catch (error) {
    return error;
  } finally {
    await server.close();
  }
}

test('startup errors keep the server message and map to codes', async () => {
  const badPassword = await startupFailure(errorResponse({ S: 'FATAL', V: 'FATAL', C: '28P01', M: 'password authentication failed for user "tester"' }));
  assert.equal((badPassword as { code: string }).code, 'AUTH_FAILED');
  assert.match((badPassword as Error).message, /^connection to server at "127.0.0.1", port \d+ failed: password authentication failed for user "tester"$/);
  const noRole = await startupFailure(errorResponse({ S: 'FATAL', C: '42501', M: 'must be superuser or replication role to start walsender' }));
  assert.equal((noRole as { code: string }).code, 'AUTH_FAILED');
  const noDb = await startupFailure(errorResponse({ S: 'FATAL', C: '3D000', M: 'database "x" does not exist' }));
  assert.equal((noDb as { code: string }).code, 'CONNECT_FAILED');
  assert.equal((await startupFailure(message('R', i32(3))) as { code: string }).code, 'PASSWORD_REQUIRED');
  assert.equal((await startupFailure(message('R', i32(7))) as { code: string }).code, 'AUTH_METHOD_UNSUPPORTED');
  const plusOnly = message('R', i32(10), cstr('SCRAM-SHA-256-PLUS'), u8(0));
  assert.equal((await startupFailure(plusOnly, { password: 'x' }) as { code: string }).code, 'AUTH_METHOD_UNSUPPORTED');
});

test('a server that skips the SCRAM verification is refused', async () => {
  const server = await scriptedServer(async (peer) => {
    await peer.readStartup();
    peer.write(message('R', i32(10), cstr('SCRAM-SHA-256'), u8(0)));
    const initial = await peer.readMessage();
    assert.match(initial.body.toString('latin1'), /^SCRAM-SHA-256\0\0\0\0.n,,n=,r=/s);
    peer.write(message('R', i32(0)));
    await peer.readMessage().catch(() => {});
  });
  try {
    await assert.rejects(connect({ ...server.params, password: 'x' }), { code: 'AUTH_FAILED' });
  } finally {
    await server.close();
  }
});

test('unreachable server: CONNECT_FAILED with the address, like psql', async () => {
  const server = await scriptedServer(async () => {});
  const { port } = server.params;
  await server.close();
  await assert.rejects(connect({ ...server.params, port }), (error: Error & { code: string; hint: string }) => {
    assert.equal(error.code, 'CONNECT_FAILED');
    assert.equal(error.message, `connection to server at "127.0.0.1", port ${port} failed: Connection refused`);
    assert.equal(error.hint, 'Is the server running on that host and accepting TCP/IP connections?');
    return true;
  });
  await assert.rejects(connect({ ...server.params, host: '/nonexistent-dir' }), {
    code: 'CONNECT_FAILED', message: `connection to server on socket "/nonexistent-dir/.s.PGSQL.${port}" failed: No such file or directory`,
  });
});

test('a silent server hits connect_timeout; an abort signal rejects with ABORTED', async () => {
  const server = await scriptedServer(async (peer) => { await peer.readStartup().catch(() => {}); });
  try {
    await assert.rejects(connect({ ...server.params, connectTimeoutMs: 200 }), { code: 'CONNECT_TIMEOUT' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(connect({ ...server.params, connectTimeoutMs: 0 }, { signal: controller.signal }), { code: 'ABORTED' });
  } finally {
    await server.close();
  }
});

test('sslmode=require against a server that answers N is SSL_REFUSED; prefer continues in plain text', async () => {
  const server = await scriptedServer(async (peer) => {
    const request = await peer.readStartup().catch(() => ({}));
    void request;
    peer.write(Buffer.from('N'));
    await peer.acceptStartup().catch(() => {});
  });
  try {
    await assert.rejects(connect({ ...server.params, sslmode: 'require' }), { code: 'SSL_REFUSED' });
    const session = await connect({ ...server.params, sslmode: 'prefer' });
    assert.equal(session.serverVersionNum, 150018);
    session.destroy();
  } finally {
    await server.close();
  }
});

test('sslmode=prefer: a peer answering SSLRequest with garbage fails at once; only a failed TLS handshake is retried in plain text', async () => {
  let connections = 0;
  const http = await scriptedServer(async (peer) => {
    connections += 1;
    await peer.readStartup().catch(() => ({}));
    peer.write(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  });
  try {
    await assert.rejects(connect({ ...http.params, sslmode: 'prefer' }), (error: Error & { code: string }) => {
      assert.equal(error.code, 'SSL_FAILED');
      assert.match(error.message, /^connection to server at "127\.0\.0\.1", port \d+ failed: received invalid response to SSL negotiation: H$/);
      return true;
    });
    assert.equal(connections, 1, 'no plain-text retry against something that is not PostgreSQL');
  } finally {
    await http.close();
  }

  let attempts = 0;
  const broken = await scriptedServer(async (peer) => {
    attempts += 1;
    if (attempts === 2) {
      await peer.acceptStartup();
      return;
    }
    await peer.readStartup().catch(() => ({}));
    const clientHello = new Promise((resolve) => peer.socket.once('data', resolve));
    peer.write(Buffer.from('S'));
    await clientHello;
    peer.write(Buffer.alloc(64, 0x41)); // not TLS: the handshake fails
  });
  try {
    const session = await connect({ ...broken.params, sslmode: 'prefer' });
    assert.equal(attempts, 2, 'the failed handshake was retried in plain text');
    session.destroy();
    await assert.rejects(connect({ ...broken.params, sslmode: 'require' }), { code: 'SSL_FAILED' });
  } finally {
    await broken.close();
  }
});
