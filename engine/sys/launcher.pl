#!/usr/bin/perl
# tscompose launcher: starts the engine's short commands (ip, iptables, mount,
# runc, conmon ...) for the daemon, so Node never forks its own big process.
# Spawned by engine/sys/launcher.ts as `perl launcher.pl OUTDIR`; protocol in
# docs/perl-helpers.md ("launcher").
#
# argv     OUTDIR: the private directory of the commands' output files; removed
#          when stdin has closed and the last command has ended.
# stdin    requests: u32 (big-endian) length, then \0-separated fields: id,
#          flags ("d": own session, "g": own process group, "s": a sync pipe
#          on fd 3), cwd, stdin path, stdout path, stderr path, env count
#          (-1 = inherit), env..., argv...
# stdout   replies: "S" u32 id u32 pid (started) | "E" u32 id u32 wait status
#          (ended) | "L" u32 id u32 length, bytes (the sync pipe's first line,
#          or what it held at EOF)
# exit     once stdin is at EOF and no command or sync pipe is pending.
use strict; use warnings;
use POSIX qw(:sys_wait_h _exit);
use IO::Select;
$SIG{INT} = 'IGNORE'; # a Ctrl-C meant for the daemon: it decides when we go (stdin closes)
$SIG{PIPE} = 'IGNORE'; # a daemon that died: finish anyway, and clean up
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
my %syncs; # read end of a child's sync pipe => [id, bytes so far]
sub launch {
  my @f = split(/\0/, $_[0], -1);
  my ($id, $flags, $cwd, $in, $out, $err, $nenv) = splice(@f, 0, 7);
  my ($sync_r, $sync_w);
  if ($flags =~ /s/) { pipe($sync_r, $sync_w) or do { print STDOUT pack("aNN", "E", $id, 255 << 8); return; }; }
  my @env = $nenv >= 0 ? splice(@f, 0, $nenv) : ();
  my @argv = @f;
  my $pid = fork();
  if (!defined $pid) { print STDOUT pack("aNN", "E", $id, 255 << 8); return; }
  if ($pid == 0) {
    $SIG{INT} = $SIG{CHLD} = $SIG{PIPE} = 'DEFAULT'; # ignored signals would stay ignored across exec
    POSIX::setsid() if $flags =~ /d/;
    setpgrp(0, 0) if $flags =~ /g/; # a group of its own: a timeout kills what it started too
    # dup2 leaves the new fd 3 open across exec (perl marks its own fds close-on-exec).
    POSIX::dup2(fileno($sync_w), 3) if $sync_w;
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
  if ($sync_r) { close($sync_w); $syncs{$sync_r} = [$id, '', $sync_r]; $sel->add($sync_r); }
}
# The first line on a sync pipe (or what came before EOF), sent once: "L" id length bytes.
sub read_sync {
  my ($fh) = @_;
  my $s = $syncs{$fh};
  my $n = sysread($fh, $s->[1], 4096, length $s->[1]);
  return if !defined $n && $!{EINTR};
  my $nl = index($s->[1], "\n");
  return if $n && $nl < 0;
  my $line = $nl >= 0 ? substr($s->[1], 0, $nl) : $s->[1];
  print STDOUT pack("aNN", "L", $s->[0], length $line) . $line;
  $sel->remove($fh); delete $syncs{$fh}; close($fh);
}
while (!$eof || %pending || %syncs) {
  for my $fh ($sel->can_read()) {
    if ($fh == $wake_r) { sysread($wake_r, my $junk, 512); next; }
    if ($syncs{$fh}) { read_sync($fh); next; }
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
# The output files' directory is ours to remove once the last command is done.
if (defined $ARGV[0]) { unlink(glob("$ARGV[0]/*")); rmdir($ARGV[0]); }
