"""stalled_ca.py's HTTP side: the TLS server, a request's line on stdout, its answer, and the
stalls (--stall, --delay, --trickle, --slow-answers); with --stall handshake, a listener that
never speaks TLS."""
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time

from stalled_ca_acme import issue_nonce
from stalled_ca_args import ARGS

STARTED = time.monotonic()
CUT_BYTES = 64  # how much more a cut answer's Content-Length announces than it sends
PRINT_LOCK = threading.Lock()


class StandInHandler(http.server.BaseHTTPRequestHandler):
    """What every request shares: its line on stdout, its answer, its stall.
    stalled_ca_answers.AcmeHandler adds the ACME resources."""

    protocol_version = "HTTP/1.1"
    # Set for one answer: its Content-Length says CUT_BYTES more than its body, and the
    # connection is then closed cleanly (--bad-answer order-cut).
    cut_short = False

    def log_message(self, *args):
        pass

    def log_request_line(self, what=None):
        # One write per line, under a lock: print() writes the text and its newline apart, and
        # concurrent requests' lines ran into each other ("POST /x t=0.3POST /x t=0.3\n\n").
        with PRINT_LOCK:
            sys.stdout.write(f"{what or self.command} {self.path} "
                             f"t={time.monotonic() - STARTED:.3f}\n")
            sys.stdout.flush()

    def slow_down(self):
        """--slow-answers S: the request waits S seconds, once its line is printed and before it
        is read further or answered; outside any lock, so that others are answered meanwhile."""
        if ARGS.slow_answers > 0:
            time.sleep(ARGS.slow_answers)

    def answer(self, status, body=None, headers=(), content_type="application/json"):
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Replay-Nonce", issue_nonce())
        self.send_header("Cache-Control", "no-store")
        if body is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        cut, self.cut_short = self.cut_short, False
        self.send_header("Content-Length", str(len(data) + (CUT_BYTES if cut else 0)))
        self.end_headers()
        self.wfile.write(data)
        if cut:
            self.close_cleanly()

    def close_cleanly(self):
        """Ends the connection with TLS close_notify (RFC 8446 §6.1), as a server that sent all
        it meant to: the client reads a clean end of the stream, no reset and no TLS error. The
        client's own close_notify is not waited for."""
        self.close_connection = True
        try:
            self.connection.settimeout(0)
            self.connection.unwrap()
        except (OSError, ValueError):
            pass  # close_notify sent; the client's not there yet (SSLWantReadError)

    def stall(self):
        if ARGS.trickle > 0:
            self.trickle_headers()
            return
        if ARGS.delay <= 0:
            while True:  # read, never answer; the client gives up
                time.sleep(3600)
        time.sleep(ARGS.delay)

    def trickle_headers(self):
        """--trickle S: the status line at once, then a header one byte every S seconds for a
        minute, so that no single read waits long (a timeout per read never fires)."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self.wfile.flush()
        ends = time.monotonic() + 60
        while time.monotonic() < ends:
            time.sleep(ARGS.trickle)
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return  # the client gave up
        self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
        self.close_connection = True


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



def tls_server(handler):
    """The threading HTTP server on 127.0.0.1:--port (0: a free one) speaking TLS with
    --cert and --key, not yet serving."""
    server = TlsServer(("127.0.0.1", ARGS.port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ARGS.cert, ARGS.key)
    # The handshake in each connection's thread, not in the one accepting thread: one slow
    # handshake must not hold up the next client's connect.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    return server
