// A small long-lived process that starts the engine's short commands (ip,
// iptables, mount, runc ...) for the daemon.
//
// Why: Node's child_process forks the whole daemon (~100 MB of page tables)
// and then blocks its event loop until the child has exec'd: about 9 ms per
// command on these machines, with 3-5 commands per container. While `up` of
// 20 services runs, that is most of the daemon's time, and nothing else it
// should be doing (starting the next container, answering the CLI) happens
// meanwhile. The launcher is a perl script (perl-base is Essential in Debian,
// so always there): its fork is cheap, it never blocks us, and to the daemon
// a command is a pipe write and, later, a pipe read.
//
// The protocol, both ways length-free and fixed where it can be:
//   request  u32 length, then \0-separated fields: id, cwd, stdin path,
//            stdout path, stderr path, env count (-1 = inherit), env..., argv...
//   replies  "S" u32 id u32 pid  (started)  |  "E" u32 id u32 wait status (ended)
// Output goes through files in a private directory, read once the command ends:
// simpler and no slower here than multiplexing pipes in the launcher.
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

const SCRIPT = String.raw`
use strict; use warnings;
use POSIX qw(:sys_wait_h _exit);
use IO::Select;
$SIG{INT} = 'IGNORE'; # a Ctrl-C meant for the daemon: it decides when we go (stdin closes)
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
binmode STDOUT; binmode STDIN;
my $old = select($wake_w); $| = 1; select(STDOUT); $| = 1; select($old);
$SIG{CHLD} = sub { syswrite($wake_w, "x") };
my $sel = IO::Select->new(\*STDIN, $wake_r);
my ($buf, $eof, %pending) = ('', 0);
sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $id = delete $pending{$pid};
    print STDOUT pack("aNN", "E", $id, $?) if defined $id;
  }
}
sub launch {
  my @f = split(/\0/, $_[0], -1);
  my ($id, $cwd, $in, $out, $err, $nenv) = splice(@f, 0, 6);
  my @env = $nenv >= 0 ? splice(@f, 0, $nenv) : ();
  my @argv = @f;
  my $pid = fork();
  if (!defined $pid) { print STDOUT pack("aNN", "E", $id, 255 << 8); return; }
  if ($pid == 0) {
    $SIG{INT} = $SIG{CHLD} = 'DEFAULT';
    open(STDIN, '<', $in eq '' ? '/dev/null' : $in) or _exit(126);
    open(STDOUT, '>', $out) or _exit(126);
    open(STDERR, '>', $err) or _exit(126);
    if ($cwd ne '' && !chdir($cwd)) { print STDERR "tscompose-launcher: chdir $cwd: $!\n"; _exit(126); }
    if ($nenv >= 0) { %ENV = (); for (@env) { my ($k, $v) = split(/=/, $_, 2); $ENV{$k} = $v // ''; } }
    { no warnings; exec { $argv[0] } @argv; }
    print STDERR "tscompose-launcher: exec $argv[0]: $!\n";
    _exit(127);
  }
  $pending{$pid} = $id;
  print STDOUT pack("aNN", "S", $id, $pid);
}
while (!$eof || %pending) {
  for my $fh ($sel->can_read()) {
    if ($fh == $wake_r) { sysread($wake_r, my $junk, 512); next; }
    my $n = sysread(STDIN, $buf, 65536, length $buf);
    next if !defined $n && $!{EINTR};
    if (!$n) { $eof = 1; $sel->remove(\*STDIN); next; }
    while (length($buf) >= 4) {
      my $len = unpack("N", $buf);
      last if length($buf) < 4 + $len;
      launch(substr($buf, 4, $len));
      substr($buf, 0, 4 + $len) = '';
    }
  }
  reap();
}
`;

export interface LaunchRequest {
  cmd: string;
  args: readonly string[];
  input?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface LaunchResult {
  stdout: string;
  stderr: string;
  /** The exit code; 128 + n when killed by signal n. */
  code: number;
  /** exec failed (the command is not installed). */
  notFound: boolean;
}

interface Pending {
  /** With the command's wait status. */
  ended: (status: number) => void;
  failed: (e: Error) => void;
  pid?: number;
  timer?: NodeJS.Timeout;
  timedOut?: boolean;
}

export class Launcher {
  private child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "tscompose-launcher-"));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private replies: Buffer = Buffer.alloc(0);

  async run(req: LaunchRequest): Promise<LaunchResult> {
    const id = this.nextId++;
    const base = join(this.dir, String(id));
    const files: { in?: string; out: string; err: string } = { out: `${base}.out`, err: `${base}.err` };
    // Sync file I/O on purpose: these are tiny files in the page cache (tens of microseconds),
    // where each fs/promises call costs several thread-pool round trips.
    if (req.input !== undefined) {
      files.in = `${base}.in`;
      writeFileSync(files.in, req.input);
    }
    const env = req.env === undefined ? undefined : Object.entries(req.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
    const fields = [String(id), req.cwd ?? "", files.in ?? "", files.out, files.err, String(env?.length ?? -1), ...(env ?? []), req.cmd, ...req.args];
    if (fields.some((f) => f.includes("\0"))) throw new Error(`${req.cmd}: an argument holds a NUL byte`);
    const payload = Buffer.from(fields.join("\0"));
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    const ended = new Promise<number>((resolve, reject) => {
      const p: Pending = { ended: resolve, failed: reject };
      this.pending.set(id, p);
      if (req.timeoutMs !== undefined) {
        // As execFile's timeout: SIGTERM once the time is up.
        p.timer = setTimeout(() => {
          p.timedOut = true;
          if (p.pid !== undefined) process.kill(p.pid, "SIGTERM");
        }, req.timeoutMs);
      }
    });
    const child = this.ensureStarted();
    this.holdOpen(child, true);
    child.stdin.write(frame);
    let status: number;
    try {
      status = await ended;
    } finally {
      this.pending.delete(id);
      if (this.pending.size === 0 && this.child) this.holdOpen(this.child, false);
    }
    const stdout = readAndRemove(files.out);
    const stderr = readAndRemove(files.err);
    if (files.in) rmSync(files.in, { force: true });
    const signal = status & 0x7f;
    const code = signal !== 0 ? 128 + signal : status >> 8;
    return { stdout, stderr, code, notFound: code === 127 && stderr.startsWith(`tscompose-launcher: exec ${req.cmd}: No such file`) };
  }

  /** Ends the launcher once its commands are done; it also ends by itself if we die (its stdin closes). */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ensureStarted(): ChildProcessByStdio<Writable, Readable, null> {
    if (this.child) return this.child;
    const child = spawn("perl", ["-e", SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdout.on("data", (chunk: Buffer) => this.onReplies(chunk));
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.failed(new Error(`the command launcher ${why} while command ${id} ran`));
      }
      this.pending.clear();
    };
    child.on("error", (e) => fail(`failed (${e.message})`));
    child.on("exit", (code, signal) => fail(`exited (${signal ?? String(code)})`));
    child.stdin.on("error", () => undefined); // reported by "exit"
    this.child = child;
    return child;
  }

  /** An idle launcher must not keep a process alive (a CLI that ran engine code); a busy one must. */
  private holdOpen(child: ChildProcessByStdio<Writable, Readable, null>, busy: boolean): void {
    const handles = [child, child.stdin, child.stdout] as { ref?: () => void; unref?: () => void }[];
    for (const h of handles) (busy ? h.ref : h.unref)?.call(h);
  }

  private onReplies(chunk: Buffer): void {
    this.replies = this.replies.length === 0 ? chunk : Buffer.concat([this.replies, chunk]);
    while (this.replies.length >= 9) {
      const kind = String.fromCharCode(this.replies[0]!);
      const id = this.replies.readUInt32BE(1);
      const value = this.replies.readUInt32BE(5);
      this.replies = this.replies.subarray(9);
      const p = this.pending.get(id);
      if (!p) continue;
      if (kind === "S") {
        p.pid = value;
        if (p.timedOut) process.kill(value, "SIGTERM");
      } else {
        clearTimeout(p.timer);
        p.ended(value);
      }
    }
  }
}

function readAndRemove(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  } finally {
    rmSync(path, { force: true });
  }
}
