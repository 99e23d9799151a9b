/**
 * What this process leaves behind when it ends: every postmaster it started gets an immediate shutdown
 * (SIGQUIT), and only then are scratch paths removed, so no server writes into a directory being deleted.
 * Runs on normal exit and on SIGINT/SIGTERM/SIGHUP.
 *
 * Not covered: SIGKILL of this process (nothing runs then; the orphaned servers keep their temp dirs).
 * Signals: when another listener handles the signal (a CLI doing a graceful abort), we do not kill the process;
 * the 'exit' hook cleans up later. When we are the only listener we clean up and re-raise, keeping the default
 * "terminated by signal" exit.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const postmasters = new Map<number, string>(); // pid -> data directory
const scratchPaths = new Set<string>();
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SHUTDOWN_WAIT_MS = 10_000;
let isInstalled = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Our own child stays a zombie until Node reaps it, which cannot happen inside an exit hook. */
function hasExited(pid: number, dataDir: string): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // no such process; or no procfs at all, where the postmaster removing its lock file is the sign
    return existsSync('/proc/self') || !existsSync(join(dataDir, 'postmaster.pid'));
  }
  return /^\d+ \(.*\) Z/s.test(stat);
}

/** Synchronous on purpose: it runs inside 'exit', where nothing asynchronous completes. */
export function cleanupNow(): void {
  for (const pid of postmasters.keys()) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      postmasters.delete(pid);
    }
  }
  const deadline = Date.now() + SHUTDOWN_WAIT_MS;
  for (const [pid, dataDir] of postmasters) {
    while (!hasExited(pid, dataDir) && Date.now() < deadline) sleepSync(20);
    if (!hasExited(pid, dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  postmasters.clear();
  for (const path of scratchPaths) {
    try {
      rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // best effort: a leftover temp dir must not turn a passing run into a failure
    }
  }
  scratchPaths.clear();
}

function onSignal(signal: (typeof CLEANUP_SIGNALS)[number]): void {
  if (process.listenerCount(signal) > 1) return;
  cleanupNow();
  for (const name of CLEANUP_SIGNALS) process.removeListener(name, onSignal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (isInstalled) return;
  isInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of CLEANUP_SIGNALS) process.on(signal, onSignal);
}

/** Returns the function to call once the postmaster has exited by itself or through stop(). */
export function trackPostmaster(pid: number, dataDir: string): () => void {
  install();
  postmasters.set(pid, dataDir);
  return () => postmasters.delete(pid);
}

export function removeAtExit(path: string): void {
  install();
  scratchPaths.add(path);
}

export function forgetAtExit(path: string): void {
  scratchPaths.delete(path);
}
