/**
 * A named lock inside a repository (`<name>.lock`), so that two runs of one command never work on it at once
 * (`expire`: two would both plan from the same catalog and remove under each other). A second run is refused at
 * once, naming the holder; nothing waits. Other commands do not take it: archive, backups and restores go on.
 *
 * Taking the lock is an exclusive create of the lock object, holding pid, host, start time and a random token. In
 * LocalStorage that is link(2) of a written and fsynced temporary file: as atomic as open(O_CREAT | O_EXCL), and
 * a reader never sees a lock half written (object storage would use a conditional put).
 *
 * A lock whose holder is dead is taken over, and the caller is told whose it was. Dead means: recorded by this
 * host, and no process has its pid (kill(pid, 0) fails with ESRCH). A lock of another host is never taken over:
 * from here its holder cannot be told dead from alive, so the error says which file to remove once it is known.
 * A reused pid keeps a dead holder's lock looking alive, which errs on the safe side (refused, not shared).
 *
 * Taking over must remove exactly the dead holder's record, never a live lock created by a faster rival that took
 * over first. So removing a stale record is itself guarded by a lock, `<name>.lock.takeover-<token of the stale
 * record>` (taken by the same rules, so a taker that dies mid-way is taken over in turn): only its holder may
 * delete the record carrying that token, and it deletes only after re-reading that the record still carries it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConvoyError } from '../errors/index.ts';
import type { RepositoryStorage } from './storage.ts';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly token: string;
}

export interface HeldLock {
  /** The dead holder whose lock this run took over; null when the lock was free. */
  readonly tookOver: LockHolder | null;
  /** Removes the lock (only if it is still this run's). */
  release(): Promise<void>;
}

/** Tokens of the locks this process holds, so that its own pid in a record can be told apart from a reused one. */
const heldHere = new Set<string>();

/** Takes the lock `name` or throws REPOSITORY_LOCKED naming its live (or unknowable) holder. */
export async function acquireLock(storage: RepositoryStorage, name: string): Promise<HeldLock> {
  const key = `${name}.lock`;
  const { mine, previous } = await claim(storage, key, name);
  return { tookOver: previous, release: () => releaseIfMine(storage, key, mine.token) };
}

async function releaseIfMine(storage: RepositoryStorage, key: string, token: string): Promise<void> {
  if ((await readHolder(storage, key))?.token === token) await storage.delete(key);
  heldHere.delete(token);
}

async function claim(storage: RepositoryStorage, key: string, name: string): Promise<{ mine: LockHolder; previous: LockHolder | null }> {
  const mine: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const record = Buffer.from(`${JSON.stringify(mine)}\n`);
  let previous: LockHolder | null = null;
  for (;;) {
    if (await storage.put(key, record, { exclusive: true })) {
      heldHere.add(mine.token);
      return { mine, previous };
    }
    const holder = await readHolder(storage, key);
    if (holder === null) continue; // released between our attempt and our read: try again
    if (!isDeadHere(holder)) throw lockedError(storage, key, name, holder);
    const guardKey = `${key}.takeover-${holder.token}`;
    const guard = await claim(storage, guardKey, name);
    try {
      if ((await readHolder(storage, key))?.token === holder.token) {
        await storage.delete(key);
        previous = holder;
      }
    } finally {
      await releaseIfMine(storage, guardKey, guard.mine.token);
    }
  }
}

/** A record that cannot be read as ours is treated as held by someone unknown: refused, never removed. */
async function readHolder(storage: RepositoryStorage, key: string): Promise<LockHolder | null> {
  const bytes = await storage.get(key);
  if (bytes === null) return null;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string' && typeof value.startedAt === 'string') {
      return { pid: value.pid, host: value.host, startedAt: value.startedAt, token: value.token };
    }
  } catch {
    // falls through to the unknown holder
  }
  return { pid: 0, host: '', startedAt: '', token: '' };
}

function isDeadHere(holder: LockHolder): boolean {
  if (holder.host !== hostname() || holder.pid <= 0) return false;
  // Our own pid in a record this process did not write: a holder that died before the pid came round to us.
  if (holder.pid === process.pid) return !heldHere.has(holder.token);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function lockedError(storage: RepositoryStorage, key: string, name: string, holder: LockHolder): ConvoyError {
  const who = holder.token === '' ? 'an unreadable lock' : `process ${holder.pid} on host "${holder.host}" since ${holder.startedAt}`;
  const sameHost = holder.host === hostname();
  return new ConvoyError('REPOSITORY_LOCKED', `repository "${storage.location}" is locked by another ${name}: ${who}`, {
    hint: sameHost && holder.token !== ''
      ? `Wait for it to finish. A lock of a process that has ended is taken over by the next ${name}.`
      : `Wait for it to finish; if no ${name} runs any more, remove "${key}" from the repository.`,
  });
}
