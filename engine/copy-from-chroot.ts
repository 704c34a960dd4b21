// Copying a container path OUT to the host (`docker cp CONTAINER:SRC DST`),
// the mirror of copy-chroot.ts. The container side is hostile: a link
// `/app -> /etc` or `../../..` in it must lead to the container's /etc, never
// the host's, and a process in it may swap a directory for a link while we
// read. So the reads are made by a helper chrooted into the container's root
// (/proc/<pid>/root while it runs, its rootfs when stopped): every path it
// opens resolves inside the container whatever the container does meanwhile.
//
// Same shape as copy-chroot.ts (perl, forked in two): here the CHILD chroots
// and reads, and streams entries (hex-encoded names relative to SRC, then a
// file's bytes) through a pipe to the parent, which stays on the host and
// writes them under the destination: directories made by itself, files and
// links written to a fresh temporary name (O_EXCL) and renamed over; an
// entry whose name is taken by a directory (or a directory by a non-directory)
// is an error, so nothing is written through a link that was already there.
import { run } from "./sys/exec.js";
import { cleanContainerPath } from "./copy.js";
import { EngineError } from "./types.js";
import type { CopyToContainerResult } from "./types.js";

const SCRIPT = String.raw`
use strict; use warnings;
use POSIX (); use Fcntl qw(O_RDONLY O_NONBLOCK O_WRONLY O_CREAT O_EXCL);
my ($root, $src, $dest, $follow, $archive) = @ARGV;
$SIG{PIPE} = 'IGNORE';
sub unhex { return pack('H*', $_[0]); }
pipe(my $r, my $w) or die "tscompose-copy: pipe: $!\n";
my $pid = fork(); die "tscompose-copy: fork: $!\n" unless defined $pid;
if (!$pid) {
  close $r; binmode $w;
  chroot($root) or die "tscompose-copy: chroot $root: $!\n";
  chdir('/') or die "tscompose-copy: chdir /: $!\n";
  my @st = $follow ? stat($src) : lstat($src);
  unless (@st) { print STDERR "tscompose-copy: could not find the file $src in the container\n"; exit 2; }
  emit($w, $src, '', @st);
  close $w or exit 1;
  exit 0;
}
sub emit {
  my ($out, $path, $rel, @st) = @_;
  my ($mode, $uid, $gid, $mtime) = @st[2, 4, 5, 9];
  my $h = unpack('H*', $rel);
  if (POSIX::S_ISDIR($mode)) {
    print $out join("\t", 'D', $h, sprintf('%o', $mode & 07777), $uid, $gid, $mtime), "\n" or exit 1;
    opendir(my $d, $path) or die "tscompose-copy: opendir $path: $!\n";
    my @e = sort grep { $_ ne '.' && $_ ne '..' } readdir($d); closedir $d;
    for my $n (@e) {
      my $child = $path eq '/' ? "/$n" : "$path/$n";
      my @cst = lstat($child);
      emit($out, $child, $rel eq '' ? $n : "$rel/$n", @cst) if @cst; # gone meanwhile: skipped
    }
  } elsif (POSIX::S_ISREG($mode)) {
    # O_NONBLOCK: a file swapped for a fifo meanwhile must not hang the copy; what was opened is checked again.
    sysopen(my $in, $path, O_RDONLY|O_NONBLOCK) or return;
    my @fst = stat($in);
    return unless @fst && POSIX::S_ISREG($fst[2]);
    binmode $in; my $size = $fst[7];
    print $out join("\t", 'F', $h, sprintf('%o', $fst[2] & 07777), $fst[4], $fst[5], $fst[9], $size), "\n" or exit 1;
    my $left = $size;
    while ($left > 0) {
      my $n = sysread($in, my $buf, $left > 65536 ? 65536 : $left);
      die "tscompose-copy: read $path: $!\n" unless defined $n;
      if ($n == 0) { $buf = "\0" x $left; $n = $left; } # shrank meanwhile: keep the framing
      print $out $buf or exit 1; $left -= $n;
    }
    close $in;
  } elsif (POSIX::S_ISLNK($mode)) {
    my $t = readlink($path); return unless defined $t;
    print $out join("\t", 'L', $h, unpack('H*', $t), $uid, $gid), "\n" or exit 1;
  } # sockets, fifos, devices: not copied
}
close $w; binmode $r;
my $copied = 0;
sub dirname { my $p = shift; $p =~ s{/[^/]*$}{}; return $p eq '' ? '/' : $p; }
sub tmpname { return dirname($_[0]) . '/.tscompose-cp-' . sprintf('%08x%04x', int(rand(2**32)), $$ & 0xffff); }
sub own { my ($p, $u, $g) = @_; return unless $archive; POSIX::lchown($u, $g, $p) or die "tscompose-copy: chown $p: $!\n"; }
sub place {
  my ($tmp, $path) = @_;
  if (lstat($path) && -d _) { unlink $tmp; die "tscompose-copy: cannot overwrite directory $path with non-directory\n"; }
  rename($tmp, $path) or do { my $e = $!; unlink $tmp; die "tscompose-copy: rename to $path: $e\n"; };
  $copied++;
}
while (my $line = <$r>) {
  chomp $line; my @f = split /\t/, $line, -1; my $rel = unhex($f[1]);
  my $path = $rel eq '' ? $dest : "$dest/$rel";
  if ($f[0] eq 'D') {
    if (lstat($path)) { die "tscompose-copy: cannot overwrite non-directory $path with directory\n" unless -d _; }
    else { mkdir($path, 0700) or die "tscompose-copy: mkdir $path: $!\n"; }
    own($path, $f[3], $f[4]); chmod(oct($f[2]), $path);
  } elsif ($f[0] eq 'F') {
    my ($mode, $u, $g, $mtime, $size) = @f[2..6];
    my $tmp = tmpname($path);
    sysopen(my $out, $tmp, O_WRONLY|O_CREAT|O_EXCL, 0600) or die "tscompose-copy: create $tmp: $!\n";
    binmode $out; my $left = $size;
    while ($left > 0) {
      my $n = read($r, my $buf, $left > 65536 ? 65536 : $left);
      unless ($n) { close $out; unlink $tmp; die "tscompose-copy: short input\n"; }
      print $out $buf or die "tscompose-copy: write $tmp: $!\n"; $left -= $n;
    }
    close $out or die "tscompose-copy: write $tmp: $!\n";
    own($tmp, $u, $g); chmod(oct($mode), $tmp); utime($mtime, $mtime, $tmp);
    place($tmp, $path);
  } elsif ($f[0] eq 'L') {
    my $tmp = tmpname($path);
    symlink(unhex($f[2]), $tmp) or die "tscompose-copy: symlink $tmp: $!\n";
    own($tmp, $f[3], $f[4]); place($tmp, $path);
  } else { die "tscompose-copy: unknown entry $f[0]\n"; }
}
waitpid($pid, 0);
exit($? >> 8 || 1) if $?;
print "$copied\n";
`;

/**
 * Copies `containerPath` (resolved inside `root`, the container's root as the
 * host sees it) to `hostPath`, the final name on the host (whose parent exists).
 */
export async function copyOutOfRoot(root: string, containerPath: string, hostPath: string, opts: { followLink?: boolean; archive?: boolean } = {}): Promise<CopyToContainerResult> {
  const src = cleanContainerPath(containerPath);
  const r = await run("perl", ["-e", SCRIPT, root, src, hostPath, opts.followLink === true ? "1" : "0", opts.archive === true ? "1" : "0"], {
    allowFailure: true,
    // Copying a big tree takes as long as it takes; only a helper stuck for half an hour is killed.
    timeoutMs: 30 * 60_000,
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().replace(/^tscompose-copy: /gm, "") || `the copy helper exited ${r.code}`;
    throw new EngineError(r.code === 2 ? "not-found" : /cannot overwrite/.test(why) ? "invalid" : "internal", why);
  }
  return { copied: Number(r.stdout.trim()) || 0, removed: 0 };
}
