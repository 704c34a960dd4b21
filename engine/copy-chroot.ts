// Copying into a RUNNING container without the check-then-use race that
// copy.ts documents (CVE-2018-15664, which `docker cp` had): a process in the
// container could swap a directory we resolved for a symlink to a host path
// between our check and our write. Here the writes are made by a helper that
// has chroot()ed into the container's root first, so every path it opens,
// symlinks included, resolves inside the container whatever the container
// does meanwhile (an absolute link starts at its root, `..` stops there).
// Docker closed the CVE the same way.
//
// The helper is perl (perl-base is Essential in Debian; Node cannot chroot a
// child, and no binary of ours may be assumed inside the container). It forks:
// the parent stays on the host and reads the source files, the child chroots
// and writes; the files' bytes go through a pipe between them. Node walks the
// host side (it owns the exclusion rules) and sends the operations as lines
// with hex-encoded paths, so no path can break the framing.
//
// Semantics are copy.ts's: removals first, missing parents created 0755 as
// the owner, a file or link written to a fresh temporary name (O_EXCL) and
// renamed over the destination, a directory in the way replaced, set-id bits
// set after chown; new entries belong to the owner.
import { readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { run } from "./sys/exec.js";
import { cleanContainerPath, lstatOrUndefined, type CopyOwner } from "./copy.js";
import { EngineError } from "./types.js";
import type { CopyToContainerRequest, CopyToContainerResult } from "./types.js";

const SCRIPT = String.raw`
use strict; use warnings;
use POSIX (); use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
my ($root, $uid, $gid) = @ARGV;
$SIG{PIPE} = 'IGNORE';
sub unhex { return pack('H*', $_[0]); }
pipe(my $r, my $w) or die "tscompose-copy: pipe: $!\n";
my $pid = fork(); die "tscompose-copy: fork: $!\n" unless defined $pid;
if ($pid) {
  # Host side: pass the operations on, with each source file's bytes.
  close $r; binmode $w; binmode STDIN;
  while (my $line = <STDIN>) {
    chomp $line; my @f = split /\t/, $line, -1;
    if ($f[0] eq 'F') {
      my $src = unhex($f[2]);
      open(my $in, '<:raw', $src) or next; # gone since it was listed: the next batch removes it
      my $size = -s $in;
      print $w join("\t", 'F', $f[1], $f[3], $f[4], $f[5], $size, $f[6] // -1, $f[7] // -1), "\n" or last;
      my $left = $size;
      while ($left > 0) {
        my $n = read($in, my $buf, $left > 65536 ? 65536 : $left);
        die "tscompose-copy: read $src: $!\n" unless defined $n;
        if ($n == 0) { $buf = "\0" x $left; $n = $left; } # shrank meanwhile: keep the framing
        print $w $buf or last; $left -= $n;
      }
      close $in;
    } else { print $w "$line\n" or last; }
  }
  close $w; waitpid($pid, 0); exit($? >> 8 || ($? & 127 ? 1 : 0));
}
close $w; binmode $r;
chroot($root) or die "tscompose-copy: chroot $root: $!\n";
chdir('/') or die "tscompose-copy: chdir /: $!\n";
my ($copied, $removed) = (0, 0);
# An entry's own uid/gid (cp -a) win over the request's owner; -1 -1 leaves what the creator (root) got.
sub own {
  my ($p, $u, $g) = @_;
  ($u, $g) = ($uid, $gid) unless defined $u && $u != -1;
  return if $u == -1 && $g == -1;
  POSIX::lchown($u, $g, $p) or die "tscompose-copy: chown $p: $!\n";
}
sub dirname { my $p = shift; $p =~ s{/[^/]*$}{}; return $p eq '' ? '/' : $p; }
sub rmtree {
  my $p = shift;
  if (-d $p && !-l $p) {
    opendir(my $d, $p) or die "tscompose-copy: opendir $p: $!\n";
    my @e = grep { $_ ne '.' && $_ ne '..' } readdir($d); closedir $d;
    rmtree("$p/$_") for @e;
    rmdir $p or die "tscompose-copy: rmdir $p: $!\n";
  } else { unlink $p or die "tscompose-copy: unlink $p: $!\n"; }
}
sub parents {
  # mkdir -p of the destination's parent, resolved as the kernel will (links followed; in
  # the chroot they stay inside): a link to a missing directory gets that directory made.
  my @todo = grep { length } split m{/}, dirname(shift);
  my ($cur, $hops) = ('', 0);
  while (@todo) {
    my $part = shift @todo;
    next if $part eq '.';
    if ($part eq '..') { $cur =~ s{/[^/]*$}{}; next; }
    my $next = "$cur/$part";
    if (-l $next) {
      die "tscompose-copy: $next: too many levels of symbolic links\n" if ++$hops > 40;
      my $t = readlink($next); die "tscompose-copy: readlink $next: $!\n" unless defined $t;
      $cur = '' if $t =~ m{^/};
      unshift @todo, grep { length } split m{/}, $t;
      next;
    }
    if (!lstat($next)) { mkdir($next, 0755) or die "tscompose-copy: mkdir $next: $!\n"; chmod(0755, $next); own($next); }
    elsif (!-d _) { die "tscompose-copy: $next: a path component is not a directory in the container\n"; }
    $cur = $next;
  }
}
sub tmpname { return dirname($_[0]) . '/.tscompose-cp-' . sprintf('%08x%04x', int(rand(2**32)), $$ & 0xffff); }
sub replace {
  my ($tmp, $dest) = @_;
  return if rename($tmp, $dest);
  rmtree($dest) if lstat($dest);
  rename($tmp, $dest) or do { my $e = $!; unlink $tmp; die "tscompose-copy: rename to $dest: $e\n"; };
}
while (my $line = <$r>) {
  chomp $line; my @f = split /\t/, $line, -1; my $op = $f[0]; my $path = unhex($f[1]);
  if ($op eq 'R') { if (lstat($path)) { rmtree($path); $removed++; } }
  elsif ($op eq 'P') { parents($path); }
  elsif ($op eq 'D') {
    if (!(lstat($path) && -d _)) {
      rmtree($path) if lstat($path);
      mkdir($path, 0755) or die "tscompose-copy: mkdir $path: $!\n";
      own($path, $f[3], $f[4]); chmod(oct($f[2]), $path);
    }
  } elsif ($op eq 'F') {
    my ($mode, $atime, $mtime, $size, $fu, $fg) = @f[2..7];
    my $tmp = tmpname($path);
    sysopen(my $out, $tmp, O_WRONLY|O_CREAT|O_EXCL, 0600) or die "tscompose-copy: create $tmp: $!\n";
    binmode $out; my $left = $size;
    while ($left > 0) {
      my $n = read($r, my $buf, $left > 65536 ? 65536 : $left);
      die "tscompose-copy: short input\n" unless $n;
      print $out $buf or die "tscompose-copy: write $tmp: $!\n"; $left -= $n;
    }
    close $out or die "tscompose-copy: write $tmp: $!\n";
    own($tmp, $fu, $fg); chmod(oct($mode), $tmp); utime($atime, $mtime, $tmp);
    replace($tmp, $path); $copied++;
  } elsif ($op eq 'L') {
    my $tmp = tmpname($path);
    symlink(unhex($f[2]), $tmp) or die "tscompose-copy: symlink $tmp: $!\n";
    own($tmp, $f[3], $f[4]); replace($tmp, $path); $copied++;
  } else { die "tscompose-copy: unknown operation $op\n"; }
}
print "$copied $removed\n";
`;

const hex = (s: string): string => Buffer.from(s, "utf8").toString("hex");

/** The helper's operations for a request: host trees walked here, where the exclusion rules are. */
async function operations(req: CopyToContainerRequest): Promise<string[]> {
  const ops: string[] = [];
  for (const r of req.removals) {
    const clean = cleanContainerPath(r);
    if (clean === "/") throw new EngineError("invalid", "refusing to remove the container's root");
    ops.push(`R\t${hex(clean)}`);
  }
  // cp -a: each entry keeps its source's uid/gid; else -1 -1 (the request's owner).
  const ids = (st: Stats): string => (req.owner === "source" ? `${st.uid}\t${st.gid}` : "-1\t-1");
  const walk = async (src: string, dest: string, st: Stats): Promise<void> => {
    if (st.isDirectory()) {
      ops.push(`D\t${hex(dest)}\t${(st.mode & 0o7777).toString(8)}\t${ids(st)}`);
      for (const name of await readdir(src)) {
        const child = `${src}/${name}`;
        if (req.exclude?.(child)) continue;
        const cst = await lstatOrUndefined(child);
        if (cst) await walk(child, dest === "/" ? `/${name}` : `${dest}/${name}`, cst);
      }
    } else if (st.isFile()) {
      ops.push(`F\t${hex(dest)}\t${hex(src)}\t${(st.mode & 0o7777).toString(8)}\t${st.atimeMs / 1000}\t${st.mtimeMs / 1000}\t${ids(st)}`);
    } else if (st.isSymbolicLink()) {
      ops.push(`L\t${hex(dest)}\t${hex(await readlink(src))}\t${ids(st)}`);
    } // sockets, fifos, devices: not synced
  };
  for (const c of req.copies) {
    const dest = cleanContainerPath(c.containerPath);
    const st = await lstatOrUndefined(c.hostPath);
    if (st === undefined) continue; // gone since it was listed: its removal comes with the next batch
    if (dest === "/" && !st.isDirectory()) throw new EngineError("invalid", `cannot copy ${c.hostPath} over the container's root`);
    if (dest !== "/") ops.push(`P\t${hex(dest)}`);
    await walk(c.hostPath, dest, st);
  }
  return ops;
}

/**
 * Applies a copy request inside `root` (/proc/<pid>/root of a running
 * container) from a helper chrooted there; see the top of this file.
 */
export async function copyIntoRunningRoot(root: string, req: CopyToContainerRequest, owner?: CopyOwner): Promise<CopyToContainerResult> {
  const ops = await operations(req);
  if (ops.length === 0) return { copied: 0, removed: 0 };
  const r = await run("perl", ["-e", SCRIPT, root, String(owner?.uid ?? -1), String(owner?.gid ?? -1)], {
    input: ops.join("\n") + "\n",
    allowFailure: true,
    // Copying a big tree takes as long as it takes; only a helper stuck for half an hour is killed.
    timeoutMs: 30 * 60_000,
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().replace(/^tscompose-copy: /gm, "") || `the copy helper exited ${r.code}`;
    throw new EngineError(/not a directory/.test(why) ? "invalid" : "internal", `copying into the container: ${why}`);
  }
  const [copied, removed] = r.stdout.trim().split(" ").map(Number);
  return { copied: copied ?? 0, removed: removed ?? 0 };
}
