#!/usr/bin/perl
# tscompose copy-out helper: reads a container path from inside a chroot into
# its root (links in the container resolve in the container), and writes it
# under a host path. Spawned by engine/copy-from-chroot.ts as
# `perl copy-from-chroot.pl ROOT SRC DEST FOLLOW ARCHIVE ONEFS`; protocol in
# docs/perl-helpers.md ("copy out of a container").
#
# argv     ROOT: the container's root; SRC: the clean container path; DEST:
#          the final host name (its parent exists); FOLLOW, ARCHIVE, ONEFS:
#          "1" or "0" (follow a link at SRC, keep uid/gid, stay on SRC's
#          file system)
# pipe     the chrooted child sends entries to the host-side parent, one a
#          line, tab-separated, names relative to SRC hex-encoded:
#          D rel mode uid gid mtime | F rel mode uid gid mtime size, then
#          size bytes | L rel target uid gid
# stdout   "COPIED\n" on success
# stderr   "tscompose-copy: why" lines; exit 2 when SRC does not exist,
#          other non-zero statuses for other failures
use strict; use warnings;
use POSIX (); use Fcntl qw(:mode O_RDONLY O_NONBLOCK O_NOFOLLOW O_WRONLY O_CREAT O_EXCL);
my ($root, $src, $dest, $follow, $archive, $onefs) = @ARGV;
my (%skipdev, $topdev);
$SIG{PIPE} = 'IGNORE';
sub unhex { return pack('H*', $_[0]); }
pipe(my $r, my $w) or die "tscompose-copy: pipe: $!\n";
my $pid = fork(); die "tscompose-copy: fork: $!\n" unless defined $pid;
if (!$pid) {
  close $r; binmode $w;
  chroot($root) or die "tscompose-copy: chroot $root: $!\n";
  chdir('/') or die "tscompose-copy: chdir /: $!\n";
  # /proc and /sys are copied as empty directories (docker cp reads the rootfs, where they are).
  my @rst = stat('/');
  for my $k ('/proc', '/sys') { my @k = stat($k); $skipdev{$k[0]} = 1 if @k && $k[0] != $rst[0]; }
  my @st = $follow ? stat($src) : lstat($src);
  unless (@st) { print STDERR "tscompose-copy: could not find the file $src in the container\n"; exit 2; }
  if (S_ISDIR($st[2])) {
    enter($src, @st) or die "tscompose-copy: $src changed while it was copied\n";
    $topdev = $st[0];
    walk($w, $src, '', @st);
  } else { emit($w, $src, $src, '', @st); }
  close $w or exit 1;
  exit 0;
}
sub same { my ($a, $b) = @_; return $a->[0] == $b->[0] && $a->[1] == $b->[1]; }
# chdir into a directory and check it is the one lstat saw: a link swapped in meanwhile is not entered.
sub enter { my ($path, @st) = @_; chdir($path) or return 0; my @now = stat('.'); return @now && same(\@st, \@now); }
# Walks the current directory by names relative to it (never by a path that a swap could redirect).
sub walk {
  my ($out, $path, $rel, @st) = @_;
  print $out join("\t", 'D', unpack('H*', $rel), sprintf('%o', $st[2] & 07777), @st[4, 5, 9]), "\n" or exit 1;
  # Other file systems (volumes, /proc, /dev ...) with onefs (export): their mount points come out empty.
  return if ($skipdev{$st[0]} || ($onefs && $st[0] != $topdev)) && $rel ne '';
  opendir(my $d, '.') or die "tscompose-copy: opendir $path: $!\n";
  my @e = sort grep { $_ ne '.' && $_ ne '..' } readdir($d); closedir $d;
  for my $n (@e) {
    my @c = lstat($n); next unless @c; # gone meanwhile: skipped
    my $crel = $rel eq '' ? $n : "$rel/$n";
    my $cpath = $path eq '/' ? "/$n" : "$path/$n";
    if (S_ISDIR($c[2])) {
      enter($n, @c) or die "tscompose-copy: $cpath changed while it was copied\n";
      walk($out, $cpath, $crel, @c);
      chdir('..') or die "tscompose-copy: chdir $path: $!\n";
      my @back = stat('.');
      die "tscompose-copy: $path changed while it was copied\n" unless @back && same(\@st, \@back);
    } else { emit($out, $n, $cpath, $crel, @c); }
  }
}
sub emit {
  my ($out, $open, $path, $rel, @st) = @_;
  my $h = unpack('H*', $rel);
  if (S_ISREG($st[2])) {
    # O_NONBLOCK: a file swapped for a fifo must not hang the copy; O_NOFOLLOW: nor for a link. What was opened is checked again.
    sysopen(my $in, $open, O_RDONLY|O_NONBLOCK|($follow && $rel eq '' ? 0 : O_NOFOLLOW)) or return;
    my @fst = stat($in);
    return unless @fst && S_ISREG($fst[2]);
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
  } elsif (S_ISLNK($st[2])) {
    my $t = readlink($open); return unless defined $t;
    print $out join("\t", 'L', $h, unpack('H*', $t), $st[4], $st[5]), "\n" or exit 1;
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
