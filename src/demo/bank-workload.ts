/**
 * The demo's write load: a tiny bank. Clients move money between accounts in transactions and log each
 * transfer, so the data changes constantly while backups run, yet one invariant always holds in any
 * consistent snapshot: the total balance never changes. A restored backup that is not consistent shows it.
 * Runs through pgconvoy's own client (no psql, no pgbench on a fresh machine).
 */
import { connect } from '../client/connection.ts';
import type { ConnectionParams, ReplicationSession } from '../client/types.ts';

export const ACCOUNTS = 1000;
export const INITIAL_BALANCE = 1000;

export async function createBank(params: ConnectionParams): Promise<void> {
  await withSession(params, (session) => session.query(`
    CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
    CREATE TABLE transfers (id bigserial PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL,
                            at timestamptz NOT NULL DEFAULT now(), note text NOT NULL);
    INSERT INTO accounts SELECT g, ${INITIAL_BALANCE} FROM generate_series(1, ${ACCOUNTS}) g;
    INSERT INTO transfers (from_id, to_id, amount, note)
      SELECT 1 + g % ${ACCOUNTS}, 1 + (g * 7) % ${ACCOUNTS}, 0, repeat(md5(g::text), 8) FROM generate_series(1, 100000) g;`));
}

export interface BankState {
  readonly accounts: number;
  readonly total: bigint;
  readonly transfers: number;
}

export async function readBank(params: ConnectionParams): Promise<BankState> {
  const rows = await withSession(params, (session) =>
    session.query('SELECT (SELECT count(*) FROM accounts), (SELECT sum(balance) FROM accounts), (SELECT count(*) FROM transfers)'));
  const [accounts, total, transfers] = rows[0] ?? [];
  return { accounts: Number(accounts), total: BigInt(total ?? '0'), transfers: Number(transfers) };
}

export interface Workload {
  /** Ends the loops and closes the sessions; rejects with the failure that ended the loops early, if one did. */
  stop(): Promise<void>;
}

/** `clients` sessions transferring money in a loop until stop(). */
export async function startWorkload(params: ConnectionParams, clients: number): Promise<Workload> {
  let running = true;
  let seed = 1;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const sessions = await Promise.all(Array.from({ length: clients }, () => connect({ ...params })));
  const loops = Promise.all(sessions.map(async (session) => {
    while (running) {
      const from = 1 + Math.floor(random() * ACCOUNTS);
      const to = 1 + Math.floor(random() * ACCOUNTS);
      const amount = 1 + Math.floor(random() * 100);
      await session.query(`BEGIN;
        UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from};
        UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to};
        INSERT INTO transfers (from_id, to_id, amount, note) VALUES (${from}, ${to}, ${amount}, repeat('x', 200));
        COMMIT;`);
    }
  }));
  // A failed loop (a lost session) ends them all and is kept for stop() to report: a demo failing elsewhere stops
  // the cluster under the running loops, and that must not crash the process as an unhandled rejection.
  const ended = loops.then(() => null, (error: unknown) => {
    running = false;
    return error;
  });
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        running = false;
        const failure = await ended;
        await Promise.all(sessions.map((session) => session.close()));
        if (failure !== null) throw failure;
      })();
      return stopped;
    },
  };
}

async function withSession<T>(params: ConnectionParams, work: (session: ReplicationSession) => Promise<T>): Promise<T> {
  const session = await connect({ ...params });
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
