/**
 * Parent side of the backup guardian (the child is guardian-process.ts): a tiny detached process that holds the
 * run's cancel keys and destinations, and cleans up only if this process dies without saying `done`. A killed
 * process can neither send a CancelRequest nor remove its output; the guardian can, because it learns of the
 * death at once: its stdin (a pipe from us) ends.
 *
 * A safety net, not a requirement: if it cannot be started or dies early, a warning says so and the run goes on.
 * The child runs with this process's module loaders only (tsx from source, none from dist), in its own session
 * so a terminal's Ctrl-C or hang-up does not reach it, and nothing of ours waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CancelKey } from '../client/types.ts';
import type { GuardedDir, GuardianMessage } from './guardian-process.ts';

export interface GuardianInit {
  /** Where CancelRequests go: the run's server address (host or Unix socket directory) and port. */
  readonly host: string;
  readonly port: number;
  readonly destinations: readonly GuardedDir[];
  readonly noClean: boolean;
}

export interface Guardian {
  /** One more session to cancel if this process dies. */
  addSession(key: CancelKey): void;
  /** The run finished, or cleaned up after itself: nothing to rescue. Resolves once the guardian was told. */
  done(): Promise<void>;
}

const CHILD_SCRIPT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './guardian-process.ts' : './guardian-process.js', import.meta.url));

/** Flags that load modules; the value is the next argument unless given with '='. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** The module-loading part of execArgv; never --inspect (a second debugger port), --eval, --test and the like. */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const arg = execArgv[i] as string;
    if (!LOADER_FLAGS.has(arg.split('=')[0] as string)) continue;
    if (arg.includes('=')) kept.push(arg);
    else if (i + 1 < execArgv.length) kept.push(arg, execArgv[(i += 1)] as string);
  }
  return kept;
}

export function spawnGuardian(init: GuardianInit, onWarning: (message: string) => void): Guardian | null {
  const env = { ...process.env };
  delete env['PGPASSWORD']; // a CancelRequest needs none
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...loaderArgs(process.execArgv), CHILD_SCRIPT], {
      detached: true, stdio: ['pipe', 'ignore', 'ignore'], env,
    });
  } catch (error) {
    onWarning(warningText(error));
    return null;
  }
  return new SpawnedGuardian(child, init, onWarning);
}

class SpawnedGuardian implements Guardian {
  readonly #stdin: Socket;
  #isDone = false;
  #hasFailed = false;

  constructor(child: ChildProcess, init: GuardianInit, onWarning: (message: string) => void) {
    this.#stdin = child.stdin as Socket;
    const fail = (message: string): void => {
      if (this.#isDone || this.#hasFailed) return;
      this.#hasFailed = true;
      onWarning(message);
    };
    child.once('error', (error) => fail(warningText(error)));
    child.once('exit', (code, signal) => fail(`cleanup guardian exited early (${signal ?? `status ${code ?? '?'}`}); a killed backup may stay in progress on the server`));
    this.#stdin.on('error', () => {}); // EPIPE after the child died: 'exit' or 'error' above already said so
    child.unref();
    this.#stdin.unref();
    this.#send({ type: 'start', host: init.host, port: init.port, noClean: init.noClean, destinations: init.destinations });
  }

  addSession(key: CancelKey): void {
    this.#send({ type: 'session', processId: key.processId, secretKey: key.secretKey.toString('hex') });
  }

  done(): Promise<void> {
    if (this.#isDone) return Promise.resolve();
    this.#isDone = true;
    const stdin = this.#stdin;
    if (stdin.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stdin.once('close', () => resolve());
      stdin.once('error', () => resolve());
      stdin.end(`${JSON.stringify({ type: 'done' } satisfies GuardianMessage)}\n`, () => resolve());
    });
  }

  #send(message: GuardianMessage): void {
    if (!this.#isDone && !this.#stdin.destroyed) this.#stdin.write(`${JSON.stringify(message)}\n`);
  }
}

function warningText(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `could not start the cleanup guardian: ${reason}; a killed backup may stay in progress on the server`;
}
