#!/usr/bin/perl
# attach.pl BUNDLE: a bridge between conmon's attach socket and pipes Node
# can use (Node cannot open a SOCK_SEQPACKET socket). See engine/runtime/
# attach.ts and docs/perl-helpers.md.
#
# conmon listens on BUNDLE/attach (SOCK_SEQPACKET). Each packet it sends is
# one read of the container's output: the first byte names the pipe (2
# stdout, 3 stderr), the rest is the data. What a client sends is written to
# the container's stdin as it is, and the client's EOF leaves that stdin open
# (conmon runs with --leave-stdin-open, as docker's StdinOnce=false).
#
# stdout: each packet as [u32 big-endian length][packet]; the first, an empty
# packet of pipe 0, says the socket is connected (output from then on is ours).
# stdin: bytes for the container's stdin; its EOF shuts our socket's sending
# side. Exits 0 when conmon closes the socket (the container ended), 2 when
# the socket cannot be reached, with `tscompose-attach: reason` on stderr;
# also when its parent is gone.
use strict;
use warnings;
use Socket qw(AF_UNIX SOCK_SEQPACKET SHUT_WR pack_sockaddr_un);
use IO::Select;
use POSIX ();

my $bundle = shift @ARGV;
defined $bundle or fail("usage: attach.pl BUNDLE");
# A relative name: the bundle's path may be longer than a socket address allows.
chdir $bundle or fail("cannot enter $bundle: $!");
socket(my $sock, AF_UNIX, SOCK_SEQPACKET, 0) or fail("socket: $!");
connect($sock, pack_sockaddr_un("attach")) or fail("cannot connect to the container's attach socket: $!");
binmode STDOUT;
binmode STDIN;
$| = 1;
$SIG{PIPE} = 'IGNORE';

sub fail {
    print STDERR "tscompose-attach: $_[0]\n";
    exit 2;
}

sub emit {
    my ($packet) = @_;
    my $data = pack("N", length $packet) . $packet;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite(STDOUT, $data, length($data) - $off, $off);
        # Our reader went away: nothing left to do.
        POSIX::_exit(0) unless defined $n;
        $off += $n;
    }
}

emit(chr(0));

my $select = IO::Select->new($sock, \*STDIN);
my $stdin_open = 1;
my $parent = getppid();
while (1) {
    # A daemon that died without closing our stdin leaves us to its init.
    exit 0 if getppid() != $parent;
    for my $fh ($select->can_read(1)) {
        if ($fh == $sock) {
            my $buf = '';
            my $ok = recv($sock, $buf, 65536, 0);
            exit 0 if !defined $ok || length $buf == 0;
            emit($buf);
        } elsif ($stdin_open) {
            my $buf;
            my $n = sysread(STDIN, $buf, 4096);
            if (!$n) {
                $stdin_open = 0;
                $select->remove(\*STDIN);
                shutdown($sock, SHUT_WR);
                next;
            }
            my $off = 0;
            while ($off < $n) {
                my $sent = send($sock, substr($buf, $off), 0);
                exit 0 unless defined $sent;
                $off += $sent;
            }
        }
    }
}
