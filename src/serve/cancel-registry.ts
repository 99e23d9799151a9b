/**
 * The cancel keys serve hands its clients in BackendKeyData, and what each one cancels. A client never sees the
 * cluster's own keys: its CancelRequest comes to serve, which finds the session by key and cancels what that
 * session is doing (a relayed command, by a CancelRequest of its own to the cluster with the upstream key; or a
 * backup serve performs, by aborting it).
 *
 * Process ids are drawn above Linux's largest pid (pid_max <= 2^22), so a temporary slot named after one
 * (pg_basebackup's `pg_basebackup_<pid>`) never collides with a slot named after a real backend. Secret keys are
 * random and compared in constant time.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const FIRST_PROCESS_ID = 4_194_305;
const SECRET_KEY_BYTES = 4;

export interface CancelTarget {
  cancel(): void;
}

export interface CancelKey {
  readonly processId: number;
  readonly secretKey: Buffer;
}

export class CancelRegistry {
  readonly #targets = new Map<number, { readonly secretKey: Buffer; readonly target: CancelTarget }>();

  register(target: CancelTarget): CancelKey {
    let processId: number;
    do processId = randomInt(FIRST_PROCESS_ID, 0x7fffffff); while (this.#targets.has(processId));
    const secretKey = randomBytes(SECRET_KEY_BYTES);
    this.#targets.set(processId, { secretKey, target });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.#targets.delete(processId);
  }

  /** True when the key named a live session (which was asked to cancel). */
  cancel(processId: number, secretKey: Buffer): boolean {
    const found = this.#targets.get(processId);
    if (found === undefined || found.secretKey.length !== secretKey.length || !timingSafeEqual(found.secretKey, secretKey)) return false;
    found.target.cancel();
    return true;
  }
}
