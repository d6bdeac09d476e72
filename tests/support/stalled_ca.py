#!/usr/bin/env python3
"""A stand-in ACME CA that stalls, for the CA time-budget tests (tests/fault/ca_budget_test.cpp).

It plays what Pebble did when it froze (README, "The 60-second CA stalls"): the directory,
newNonce and newAccount answer at once; the requests named by --stall are read and then either
never answered or answered after --delay seconds. With --stall handshake it accepts TCP
connections and never speaks TLS at all.

Enough of RFC 8555 for the service to get that far: a directory (§7.1.1), nonces (§7.2), an
account (§7.3), an order with one pending authorization whose dns-01 challenge carries a token
(§7.4, §7.5). Signatures are not checked. Each request is printed as one line, "METHOD PATH", to
stdout (unbuffered) before it is answered or stalled, after a first line "listening PORT", so a test counts what reached the CA.

  stalled_ca.py [--port P] --cert CERT --key KEY --stall new-order|challenge|handshake [--delay S]
                [--no-profiles]
"""
import argparse
import http.server
import itertools
import json
import socket
import socketserver
import ssl
import sys
import threading
import time

counter = itertools.count(1)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0: any free one")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--stall", choices=["new-order", "challenge", "handshake"], required=True)
    parser.add_argument("--delay", type=float, default=0, help="0: never answer")
    parser.add_argument("--no-profiles", action="store_true",
                        help="a directory without meta.profiles")
    return parser.parse_args()


ARGS = parse_args()
BASE = ""  # https://127.0.0.1:<port>, once bound


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log_request_line(self):
        print(f"{self.command} {self.path}", flush=True)

    def answer(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Replay-Nonce", f"nonce-{next(counter)}")
        self.send_header("Cache-Control", "no-store")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stall(self):
        if ARGS.delay <= 0:
            while True:  # read, never answer; the client gives up
                time.sleep(3600)
        time.sleep(ARGS.delay)

    def do_GET(self):
        self.log_request_line()
        if self.path == "/dir":
            directory = {"newNonce": BASE + "/nonce", "newAccount": BASE + "/account",
                         "newOrder": BASE + "/order-plz", "revokeCert": BASE + "/revoke",
                         "keyChange": BASE + "/key-change"}
            # The profile the test stack names (ACME_PROFILE=default), as Pebble offers it
            # (draft-ietf-acme-profiles §3); --no-profiles: a CA that offers none.
            if not ARGS.no_profiles:
                directory["meta"] = {"profiles": {"default": "the stand-in's certificates"}}
            self.answer(200, directory)
        elif self.path == "/nonce":
            self.answer(204)
        else:
            self.answer(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no"})

    def do_HEAD(self):
        self.log_request_line()
        self.answer(200)

    def do_POST(self):
        self.log_request_line()
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/account":
            self.answer(201, {"status": "valid"}, [("Location", BASE + "/account/1")])
        elif self.path == "/order-plz":
            if ARGS.stall == "new-order":
                self.stall()
            n = next(counter)
            self.answer(201, {"status": "pending", "expires": "2099-01-01T00:00:00Z",
                              "identifiers": [], "authorizations": [f"{BASE}/authz/{n}"],
                              "finalize": f"{BASE}/finalize/{n}"},
                        [("Location", f"{BASE}/order/{n}")])
        elif self.path.startswith("/authz/"):
            n = self.path.rsplit("/", 1)[1]
            self.answer(200, {"status": "pending", "expires": "2099-01-01T00:00:00Z",
                              "identifier": {"type": "dns", "value": "stand-in"},
                              "challenges": [{"type": "dns-01", "status": "pending",
                                              "url": f"{BASE}/chall/{n}",
                                              "token": f"token{n:0>40}"}]})
        elif self.path.startswith("/chall/"):
            if ARGS.stall == "challenge":
                self.stall()
            self.answer(200, {"type": "dns-01", "status": "processing",
                              "url": BASE + self.path, "token": "t"})
        else:
            self.answer(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no"})


class TlsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of clients (retried after
    # 1 s, which a client with a 2 s budget takes for a CA that does not answer).
    request_queue_size = 128


def serve_silent():
    """Accepts connections and holds them without a byte: not even the TLS handshake."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ARGS.port))
    listener.listen(128)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    held = []
    while True:
        connection, _ = listener.accept()
        print("CONNECT", flush=True)
        held.append(connection)


def main():
    if ARGS.stall == "handshake":
        serve_silent()
        return
    global BASE
    server = TlsServer(("127.0.0.1", ARGS.port), Handler)
    BASE = f"https://127.0.0.1:{server.server_address[1]}"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ARGS.cert, ARGS.key)
    # The handshake in each connection's thread, not in the one accepting thread: one slow
    # handshake must not hold up the next client's connect.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print(f"listening {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
