#!/usr/bin/env python3
"""A TCP relay that trickles, for the handshake-budget tests (tests/fault/ca_handshake_test.cpp,
tests/fault/webhook_handshake_test.cpp).

Each connection to it is relayed to 127.0.0.1:TARGET. What the client sends goes on at once;
what the target sends goes on CHUNK bytes at a time, one chunk every INTERVAL seconds: in front
of a TLS server, a CA or webhook receiver (or a middlebox) whose handshake takes as long as it
likes while every single wait of the client sees bytes arrive well within its timeout.

Prints "listening PORT" first, then "CONNECT t=<seconds>" for each connection (unbuffered,
a monotonic clock), so a test counts the connections the client opened, and "CUT relayed=R
unrelayed=N" when a client went away after R bytes of the target's reached it, with N more the
target had sent not yet relayed (a TLS handshake given up part way: R under the server's flight).

  trickle_relay.py --target PORT [--port P] [--chunk-bytes N] [--interval S]
"""
import argparse
import socket
import sys
import threading
import time

STARTED = time.monotonic()
PRINT_LOCK = threading.Lock()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=int, required=True, help="the port relayed to")
    parser.add_argument("--port", type=int, default=0, help="0: any free one")
    parser.add_argument("--chunk-bytes", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.2)
    return parser.parse_args()


ARGS = parse_args()


def say(line):
    with PRINT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def close_quietly(connection):
    try:
        connection.close()
    except OSError:
        pass


def forward(source, destination, chunk_bytes=0, interval=0.0):
    """Copies until either side ends, then ends both (the other direction's thread sees it)."""
    relayed = 0
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if not chunk_bytes:
                destination.sendall(data)
                continue
            for at in range(0, len(data), chunk_bytes):
                time.sleep(interval)
                try:
                    destination.sendall(data[at:at + chunk_bytes])
                except OSError:
                    # The client left before the target's bytes reached it all.
                    say(f"CUT relayed={relayed} unrelayed={len(data) - at}")
                    raise
                relayed += len(data[at:at + chunk_bytes])
    except OSError:
        pass
    for connection in (source, destination):
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(client):
    try:
        server = socket.create_connection(("127.0.0.1", ARGS.target))
    except OSError:
        close_quietly(client)
        return
    for connection in (client, server):
        # Each chunk leaves as its own segment rather than waiting for the next one.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    upstream = threading.Thread(target=forward, args=(client, server), daemon=True)
    upstream.start()
    forward(server, client, ARGS.chunk_bytes, ARGS.interval)
    upstream.join()
    close_quietly(client)
    close_quietly(server)


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ARGS.port))
    listener.listen(128)
    say(f"listening {listener.getsockname()[1]}")
    while True:
        client, _ = listener.accept()
        say(f"CONNECT t={time.monotonic() - STARTED:.3f}")
        threading.Thread(target=relay, args=(client,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
