/**
 * Ordered, backpressured writes of whole frames to one client socket: frames given in one call leave in one
 * writev (cork/uncork), and a call returns only once the socket's own buffer is below HIGH_WATER_BYTES, so a
 * client that stops reading stops its writer instead of growing memory. Rejects with CONNECTION_CLOSED once the
 * socket is gone (the caller's backup or relay then ends).
 */
import type { Socket } from 'node:net';
import { ConnectionError } from '../errors/index.ts';

const HIGH_WATER_BYTES = 1024 * 1024;

export class SocketWriter {
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  async send(...frames: Buffer[]): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) throw closed();
    socket.cork();
    for (const frame of frames) socket.write(frame);
    socket.uncork();
    if (socket.writableLength <= HIGH_WATER_BYTES) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(closed());
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }
}

function closed(): ConnectionError {
  return new ConnectionError('CONNECTION_CLOSED', 'client closed the connection');
}
