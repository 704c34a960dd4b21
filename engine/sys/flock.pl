#!/usr/bin/perl
# tscompose flock helper: holds a flock(2) lock for a Node process (Node has
# no flock). The lock lives on this process's open file, so it goes when the
# process goes. Spawned by engine/sys/flock.ts as `perl flock.pl`; protocol in
# docs/perl-helpers.md ("flock helper").
#
# env      TSCOMPOSE_LOCK_FILE: the lock file (created 0600 if missing); in the
#          environment, not argv, so no process listing names a state dir
# stdout   "R" once the file is open, then one reply a command
# stdin    one command a line: x (exclusive) | s (shared) | X | S (the same,
#          without waiting) | u (unlock)
# replies  "K" done | "B" busy (X or S only) | "E why" failed
# exit     at stdin EOF (our owner closed us or died); the lock goes with it
use strict; use warnings;
use Fcntl qw(:flock O_RDWR O_CREAT);
$SIG{INT} = 'IGNORE'; # a Ctrl-C meant for our parent: it decides (its exit closes our stdin)
$| = 1;
my $path = $ENV{TSCOMPOSE_LOCK_FILE};
sysopen(my $fh, $path, O_RDWR | O_CREAT, 0600) or do { print "E open $path: $!\n"; exit 1; };
my %ops = (x => LOCK_EX, s => LOCK_SH, X => LOCK_EX | LOCK_NB, S => LOCK_SH | LOCK_NB, u => LOCK_UN);
print "R\n";
while (my $cmd = <STDIN>) {
  chomp $cmd;
  my $op = $ops{$cmd};
  if (!defined $op) { print "E unknown command $cmd\n"; next; }
  my $ok;
  do { $ok = flock($fh, $op) } while (!$ok && $!{EINTR});
  print $ok ? "K\n" : $!{EWOULDBLOCK} ? "B\n" : "E $!\n";
}
