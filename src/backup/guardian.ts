/**
 * The backup guardian: a tiny detached process that holds the run's cancel keys and claimed directories, and
 * cleans up only if this process dies without saying `done`. A killed process (SIGKILL, OOM killer, crash) can
 * neither send a CancelRequest nor remove its output; the guardian can, because it learns of the death at once:
 * its stdin, a pipe from us, ends, however we died.
 *
 * It is a Perl script (perl-base is part of every Debian system), not a second Node process: it needs only the
 * keys, the paths and a socket, and Perl does that in about 5 MB where Node took 50. Modules are loaded only for
 * a rescue, so the idle guardian is the bare interpreter. What it does after a death, in order:
 *   1. a CancelRequest for each session (TCP or Unix socket, at most 5 s each): a walsender waiting for a spread
 *      start checkpoint would otherwise hold the backup for minutes; temporary slots end with their sessions;
 *   2. each claimed directory, as the run's own failure path would leave it: one whose -D holds backup_manifest is
 *      a complete backup and never touched; with --no-clean only backup_manifest.tmp and the claim files go;
 *      otherwise a directory the run created is removed (rm -rf, which follows no symlink), one it found empty is
 *      emptied. Any doubt (backup_manifest cannot be checked) keeps everything;
 *   3. each directory the run was about to create but had not claimed yet: removed if it is empty (rmdir), so a
 *      death between making the directory and claiming it leaves nothing. It may not yet be ours, so nothing
 *      in it is touched, and with --no-clean it stays.
 * It does not log (stdout and stderr are /dev/null; the input holds cancel keys), retry, or drop slots.
 *
 * Input: one order per line, fields separated by a space, every string in hex (a path may hold any byte):
 *   server HOST PORT NOCLEAN | session PID KEY | creating DIR | dir WAS_CREATED DIR BACKUP_DIR | done
 * A `dir` order for a path supersedes its `creating` order.
 * Malformed lines are ignored (we are the only writer).
 *
 * A safety net, not a requirement: if it cannot be started or dies early, a warning says so and the run goes on.
 * It runs in its own session, so a terminal's Ctrl-C or hang-up does not reach it, and nothing of ours waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { CancelKey } from '../client/types.ts';
import type { ClaimedDir } from '../pipeline/index.ts';

export interface GuardianInit {
  /** Where CancelRequests go: the run's server address (host or Unix socket directory) and port. */
  readonly host: string;
  readonly port: number;
  readonly noClean: boolean;
}

export interface Guardian {
  /** One more session to cancel if this process dies. */
  addSession(key: CancelKey): void;
  /** A directory about to be created, not claimed yet: removed if this process dies and it is still empty. */
  addCreating(dir: string): void;
  /** One more directory to clean if this process dies; told as soon as it was claimed. */
  addDestination(claim: ClaimedDir): void;
  /** The run finished, or cleaned up after itself: nothing to rescue. Resolves once the guardian was told. */
  done(): Promise<void>;
}

export type GuardianOrder =
  | { readonly type: 'server'; readonly host: string; readonly port: number; readonly noClean: boolean }
  | { readonly type: 'session'; readonly key: CancelKey }
  | { readonly type: 'creating'; readonly dir: string }
  | { readonly type: 'dir'; readonly claim: ClaimedDir }
  | { readonly type: 'done' };

const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex');

/** One line of the guardian's input. */
export function orderLine(order: GuardianOrder): string {
  switch (order.type) {
    case 'server': return `server ${hex(order.host)} ${order.port} ${order.noClean ? 1 : 0}\n`;
    case 'session': return `session ${order.key.processId} ${order.key.secretKey.toString('hex')}\n`;
    case 'creating': return `creating ${hex(order.dir)}\n`;
    case 'dir': return `dir ${order.claim.wasCreated ? 1 : 0} ${hex(order.claim.dir)} ${hex(order.claim.backupDir)}\n`;
    case 'done': return 'done\n';
  }
}

export const GUARDIAN_SCRIPT = String.raw`
use strict;
$0 = 'pgconvoy-guardian';
my ($host, $port, $noclean, @keys, @dirs, %creating, $done);
my $hex = qr/^(?:[0-9a-fA-F]{2})+$/;
while (defined(my $line = <STDIN>)) {
  chomp $line;
  my @f = split / /, $line, -1;
  my $kind = shift(@f) // '';
  if ($kind eq 'done' && !@f) { $done = 1 }
  elsif ($kind eq 'server' && @f == 3 && $f[0] =~ $hex && $f[1] =~ /^\d{1,5}$/ && $f[2] =~ /^[01]$/) {
    ($host, $port, $noclean) = (pack('H*', $f[0]), $f[1], $f[2]);
  }
  elsif ($kind eq 'session' && @f == 2 && $f[0] =~ /^\d{1,10}$/ && $f[1] =~ $hex) { push @keys, [$f[0], pack('H*', $f[1])] }
  elsif ($kind eq 'creating' && @f == 1 && $f[0] =~ $hex) { $creating{pack('H*', $f[0])} = 1 }
  elsif ($kind eq 'dir' && @f == 3 && $f[0] =~ /^[01]$/ && $f[1] =~ $hex && $f[2] =~ $hex) {
    push @dirs, [$f[0], pack('H*', $f[1]), pack('H*', $f[2])];
    delete $creating{$dirs[-1][1]};
  }
}
exit 0 if $done;
if (defined $host) { require Socket; cancel(@$_) for @keys }
clean(@$_) for @dirs;
unless ($noclean) { rmdir($_) for keys %creating }
exit 0;

sub cancel {
  my ($pid, $key) = @_;
  local $SIG{ALRM} = sub { die "timeout\n" };
  eval {
    alarm 5;
    my $sock;
    if ($host =~ m{^/}) {
      socket($sock, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or die;
      connect($sock, Socket::pack_sockaddr_un("$host/.s.PGSQL.$port")) or die;
    } else {
      my ($error, @found) = Socket::getaddrinfo($host, $port, { socktype => Socket::SOCK_STREAM() });
      die if $error;
      for my $ai (@found) {
        socket($sock, $ai->{family}, $ai->{socktype}, $ai->{protocol}) or next;
        last if connect($sock, $ai->{addr});
        close($sock);
        undef $sock;
      }
      die unless $sock;
    }
    syswrite($sock, pack('NNN', 12 + length($key), 80877102, $pid) . $key);
    shutdown($sock, 1);
    my $buffer;
    1 while sysread($sock, $buffer, 512);
    close($sock);
  };
  alarm 0;
}

sub clean {
  my ($created, $dir, $backup) = @_;
  return unless -d $dir;
  return if -e "$backup/backup_manifest" || !$!{ENOENT};
  if ($noclean) { unlink("$backup/backup_manifest.tmp", "$dir/pgconvoy.lock"); return }
  if ($created) { system('rm', '-rf', '--', $dir); return }
  opendir(my $handle, $dir) or return;
  my @entries = map { "$dir/$_" } grep { $_ ne '.' && $_ ne '..' } readdir($handle);
  closedir($handle);
  system('rm', '-rf', '--', @entries) if @entries;
}
`;

export function spawnGuardian(init: GuardianInit, onWarning: (message: string) => void): Guardian | null {
  let child: ChildProcess;
  try {
    // Nothing of our environment: a CancelRequest needs no password, and PERL5LIB/PERL5OPT must not steer it.
    child = spawn('perl', ['-e', GUARDIAN_SCRIPT], {
      detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
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
    this.#send({ type: 'server', host: init.host, port: init.port, noClean: init.noClean });
  }

  addSession(key: CancelKey): void {
    this.#send({ type: 'session', key });
  }

  addCreating(dir: string): void {
    this.#send({ type: 'creating', dir });
  }

  addDestination(claim: ClaimedDir): void {
    this.#send({ type: 'dir', claim });
  }

  done(): Promise<void> {
    if (this.#isDone) return Promise.resolve();
    this.#isDone = true;
    const stdin = this.#stdin;
    if (stdin.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stdin.once('close', () => resolve());
      stdin.once('error', () => resolve());
      stdin.end(orderLine({ type: 'done' }), () => resolve());
    });
  }

  #send(order: GuardianOrder): void {
    if (!this.#isDone && !this.#stdin.destroyed) this.#stdin.write(orderLine(order));
  }
}

function warningText(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `could not start the cleanup guardian: ${reason}; a killed backup may stay in progress on the server`;
}
