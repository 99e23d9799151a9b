/**
 * The cluster's authentication_timeout, applied to one client connection: everything before its session is logged
 * in (startup packet, TLS handshake, the relayed password exchange) must finish in time. When it does not, or when
 * serve shuts down first, the connection closes without a word to the client, as PostgreSQL closes it: a backend
 * never writes an error to a client that has not finished authenticating.
 *
 * A plain timer, not AbortSignal.timeout() joined to the shutdown signal with AbortSignal.any(): Node 20 may collect
 * such a timeout signal before it fires, and a silent client then holds its connection forever.
 */
import { AbortError, ConnectionError } from '../errors/index.ts';

export class LoginDeadline {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #shutdown: AbortSignal;
  readonly #onShutdown = (): void => {
    this.#controller.abort(new AbortError('ABORTED', 'terminating connection due to administrator command', { details: { sqlstate: '57P01' } }));
  };

  constructor(timeoutMs: number, shutdown: AbortSignal) {
    this.#shutdown = shutdown;
    this.#timer = setTimeout(() => {
      this.#controller.abort(new ConnectionError('CONNECT_TIMEOUT', 'canceling authentication due to timeout', { details: { sqlstate: '08006' } }));
    }, timeoutMs);
    if (shutdown.aborted) this.#onShutdown();
    else shutdown.addEventListener('abort', this.#onShutdown, { once: true });
  }

  /** Aborted, with the reason as its reason, when the time is up or serve shuts down. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The session is logged in, or the connection ended: the deadline no longer applies. Idempotent. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#shutdown.removeEventListener('abort', this.#onShutdown);
  }
}
