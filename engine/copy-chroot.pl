#!/usr/bin/perl
# tscompose copy-in helper: writes files into a running container from inside
# a chroot into its root, so no path can lead out of it (CVE-2018-15664).
# Spawned by engine/copy-chroot.ts as `perl copy-chroot.pl ROOT UID GID`;
# protocol in docs/perl-helpers.md ("copy into a container").
#
# argv     ROOT: the container's root (/proc/PID/root); UID GID: owner of new
#          entries (-1 -1: root's)
# stdin    one operation a line, tab-separated, paths hex-encoded:
#          R path | P path (make its parents) | D path mode uid gid |
#          F path hostsrc mode atime mtime uid gid | L path target uid gid
#          (mode octal; uid/gid -1 = the request's owner)
#          The host-side parent reads each F's hostsrc and passes the bytes on.
# stdout   "COPIED REMOVED\n" on success
# stderr   "tscompose-copy: why" lines; exit status non-zero on failure
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
