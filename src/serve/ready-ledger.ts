/**
 * How many ReadyForQuery the cluster still owes for the client frames serve relayed to it, counted the way a
 * walsender's main loop answers them. A BASE_BACKUP that serve performs itself waits for exactly the answers owed
 * before it, and never for one that will not come:
 * - Query: one. FunctionCall: one (the walsender refuses it with an ERROR, then sends ReadyForQuery).
 * - Parse, Bind, Execute, Describe, Close: none. The walsender refuses them with an ERROR and then discards every
 *   frame until Sync, Query included (so serve must relay a BASE_BACKUP sent then, not perform it).
 * - Sync: one, and it ends such discarding.
 * - Flush, and CopyData, CopyDone or CopyFail outside a copy: none.
 * - During a relayed COPY FROM STDIN (UPLOAD_MANIFEST): the walsender ignores Flush and Sync. CopyDone or CopyFail
 *   ends the copy, and so does any other frame (the walsender consumes it in an ERROR). The Query that opened the
 *   copy already counted its ReadyForQuery.
 *
 * Frames the walsender ends the session for (an unknown type, a Query during START_REPLICATION) need no count: the
 * cluster closes the connection, and the client session ends with it.
 */
import { FrontendType } from '../protocol/codes.ts';

const REFUSED_UNTIL_SYNC: ReadonlySet<number> = new Set([
  FrontendType.Parse, FrontendType.Bind, FrontendType.Execute, FrontendType.Describe, FrontendType.Close,
]);

const KEEPS_COPY_IN_OPEN: ReadonlySet<number> = new Set([FrontendType.CopyData, FrontendType.Flush, FrontendType.Sync]);

export class ReadyLedger {
  #owed = 0;
  #isSkippingTillSync = false;
  #isInCopyIn = false;

  /** ReadyForQuery messages the cluster has yet to send for what was relayed. */
  get owed(): number {
    return this.#owed;
  }

  /** True while the cluster discards what it receives until a Sync: a Query relayed now gets no answer at all. */
  get isSkippingTillSync(): boolean {
    return this.#isSkippingTillSync;
  }

  /** A client frame about to be relayed; `opensCopyIn` for a Query whose command starts a COPY FROM STDIN. */
  relayed(type: number, opensCopyIn = false): void {
    if (this.#isInCopyIn) {
      if (!KEEPS_COPY_IN_OPEN.has(type)) this.#isInCopyIn = false;
      return;
    }
    if (this.#isSkippingTillSync) {
      if (type === FrontendType.Sync) {
        this.#isSkippingTillSync = false;
        this.#owed += 1;
      }
      return;
    }
    if (REFUSED_UNTIL_SYNC.has(type)) {
      this.#isSkippingTillSync = true;
    } else if (type === FrontendType.Query || type === FrontendType.FunctionCall || type === FrontendType.Sync) {
      this.#owed += 1;
      this.#isInCopyIn = type === FrontendType.Query && opensCopyIn;
    }
  }

  /** The cluster sent a ReadyForQuery; true when nothing more is owed. */
  answered(): boolean {
    if (this.#owed > 0) this.#owed -= 1;
    return this.#owed === 0;
  }
}
