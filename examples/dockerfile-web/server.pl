# A tiny HTTP server in the Perl that debian:bookworm's minbase has (IO::Socket::INET).
use strict;
use warnings;
use IO::Socket::INET;

my $port = $ENV{PORT} || 8080;
my $server = IO::Socket::INET->new(
    LocalAddr => "0.0.0.0", LocalPort => $port, Listen => 64, ReuseAddr => 1, Proto => "tcp",
) or die "cannot listen on $port: $!";
$| = 1;
print "dockerfile-web listening on $port\n";
while (my $client = $server->accept) {
    my $request = <$client> // "";
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/; }
    my $body = "Hello from dockerfile-web\n";
    print $client "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
        . length($body) . "\r\nConnection: close\r\n\r\n" . $body;
    close $client;
}
