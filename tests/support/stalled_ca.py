#!/usr/bin/env python3
"""A stand-in ACME CA that stalls, for the CA time-budget tests (tests/fault/ca_budget_test.cpp).

It plays what Pebble did when it froze (README, "The 60-second CA stalls"): the directory,
newNonce and newAccount answer at once; the requests named by --stall are read and then either
never answered, answered after --delay seconds, or answered with headers trickled one byte
every --trickle seconds. With --stall handshake it accepts TCP
connections and never speaks TLS at all.

Enough of RFC 8555 for the service to get that far: a directory (§7.1.1), nonces (§7.2), an
account (§7.3), an order with one pending authorization whose dns-01 challenge carries a token
(§7.4, §7.5). Signatures are not checked. Each request is printed as one line, "METHOD PATH", to
stdout (unbuffered) before it is answered or stalled, after a first line "listening PORT", so a test counts what reached the CA.

With --stall none it stalls nothing and plays a whole order instead, with what Pebble cannot be
made to send (tests/fault/ca_protocol_test.cpp): the authorization offers dns-account-01 and
dns-persist-01 before dns-01 (RFC 8555 §7.5: the client picks); once the dns-01 challenge is
answered the authorization is polled --processing-polls times before it is valid, answering
"pending" and "processing" in turn with the challenge "processing"; finalize answers
"processing" without a Location header (RFC 8555 §7.4 asks for none); the order is then polled
--processing-polls times as "processing" before it is valid; and the certificate is the CSR
signed with CERT/KEY (openssl). Every "processing" answer carries Retry-After: --retry-after,
as delay-seconds and as an HTTP-date in turn (Pebble also sends either). Each request line ends
with " t=<seconds>" (a monotonic clock), so a test can see how far apart the polls came.

  stalled_ca.py [--port P] --cert CERT --key KEY --stall new-order|challenge|handshake [--delay S]
                [--trickle S] [--no-profiles]
  stalled_ca.py [--port P] --cert CERT --key KEY --stall none [--retry-after S]
                [--processing-polls N] [--no-profiles] [--user-action-required]
                [--authorization-error STATUS] [--order-never-ready]
                [--rate-limit-new-order SECONDS|past|none] [--renewal-info ANSWERS]
                [--noisy-problem new-order|authorization] [--stall-directory-when FILE]
                [--long-strings] [--bad-answer WHAT]
                [--renewal-info-allowance FILE]

With --rate-limit-new-order RETRY_AFTER every newOrder is answered 429 with a rateLimited problem
(RFC 8555 §6.7), as a CA whose limit the account hit, with Retry-After: RETRY_AFTER (RFC 9110
§10.2.3) as delay-seconds when it is a number ("0" too), an HTTP-date an hour ago for "past",
and no Retry-After at all for "none".

With --noisy-problem the CA's problem text is a terminal's clear-screen and line breaks
("\x1b[2J\r\n") repeated until the answer is about 900 KiB (under the client's 1 MiB cap; JSON
writes each 6 bytes of it in 13): "new-order" answers newOrder 400 rejectedIdentifier with such a
detail and 1000 subproblems (tests/fault/ca_problem_text_test.cpp); "authorization" makes the
authorization invalid once its dns-01 challenge is answered, the challenge's error such a detail.

With --order-never-ready the order stays "pending" after its authorization is valid (RFC 8555
§7.1.6 says it becomes "ready"): a CA that never lets it be finalized.

With --authorization-error STATUS newOrder still creates the order (201), but reading its
authorization (POST-as-GET, RFC 8555 §6.3) answers STATUS with a serverInternal problem.

A deactivation of an authorization (RFC 8555 §7.5.2: a POST with a payload, where a read's is
empty) is answered and printed as "DEACTIVATED PATH t=<seconds>", after its "POST PATH" line.

With --long-strings the CA's own strings are far past what the client keeps of them
(tests/fault/ca_long_strings_test.cpp), each LONG_BYTES long: the directory's meta.profiles holds
"default" with a description of control bytes, a profile whose name is LONG_BYTES long, and 2,000
more; meta.caaIdentities holds "stand-in.test", a name of LONG_BYTES and one with a space;
newOrder echoes a "profile" of LONG_BYTES and lists one authorization at 127.0.0.1 port 1 (where
nothing answers) under a path of 2,000 bytes (a URL the client takes: at most 2,048); and a
--renewal-info window carries an explanationURL of LONG_BYTES.

An order names the identifiers newOrder asked for (RFC 8555 §7.4) and its authorization the
first of them (a wildcard's base name, "wildcard": true; RFC 8555 §7.1.4). With --bad-answer WHAT
one answer breaks what RFC 8555 allows (tests/fault/ca_order_shape_test.cpp): newOrder lists
1,000 authorizations for its one identifier ("many-authorizations"), names identifiers other than
those asked for ("other-identifiers"), an authorization URL of LONG_BYTES ("long-url") or an http
finalize URL ("http-url"), or is answered 201 without a Location header ("new-order-no-location",
RFC 8555 §7.4); the authorization is for another name ("other-authorization"), or its dns-01
token is LONG_BYTES long ("long-token") or base64url with '=' padding ("padded-token"). Or the
directory (tests/fault/ca_directory_shape_test.cpp): its newOrder URL does not parse, "%zz" in its
path ("unparseable-url"), its newAccount URL is http ("directory-http-url", RFC 8555 §6.1), its
newOrder URL is LONG_BYTES long ("directory-long-url"), or it offers renewalInfo at an http URL
("directory-http-renewal-info"; RFC 9773 is optional: the client goes on without it). One is
unusual and allowed (RFC 8555 §7.1.3: no 1:1 relationship between identifiers and
authorizations): newOrder lists a second pending authorization for its first identifier
("two-authorizations"). The certificate download (RFC 8555 §7.4.2, tests/fault/ca_chain_test.cpp)
holds the leaf and 799 small self-signed certificates, about 440 KiB ("chain-too-long"); the leaf
and an HTML error page where its issuer should be ("chain-garbage"); the leaf in DER, no PEM at
all ("chain-not-pem"); nothing ("chain-empty"); a leaf for another public key than the CSR's
("chain-wrong-key", openssl's -force_pubkey) or naming other.example alone, the CSR's names not
copied ("chain-other-names"), these two followed by the stand-in's certificate as a good one is.

With --stall-directory-when FILE the directory request is printed, read and never answered (as
--stall's requests) while FILE exists: a CA that went down after issuing, for dnsh-admin
ari-refresh (tests/fault/ari_error_retry_test.cpp counts its "GET /dir" lines).

With --renewal-info-allowance FILE, while FILE exists it holds how many more renewalInfo requests
are answered: each answer takes one off, and at 0 the requests are printed, read and never
answered (as --stall's): a CA that stops answering part way through dnsh-admin ari-refresh --all
(tests/fault/ari_error_retry_test.cpp stops the run while it waits).

With --renewal-info ANSWERS the directory offers renewalInfo (RFC 9773 §4.1), the certificates
issued carry an Authority Key Identifier (the CertID names it), and the renewalInfo requests
about each certificate are answered in turn by the comma-separated ANSWERS, the last one
repeated: "window" a RenewalInfo object (§4.2) whose window starts in an hour and lasts an
hour, with Retry-After: 21600 (§4.2's example); "STATUS" or "STATUS:SECONDS" an error answer with
that status (a rateLimited problem for 429, serverInternal for 5xx, malformed otherwise) and
Retry-After: SECONDS when given. "503:60,window": a CA overloaded for a minute, then its window.
"""
import argparse
import base64
import email.utils
import hashlib
import http.server
import itertools
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

counter = itertools.count(1)


def rate_limit_retry_after(value):
    """--rate-limit-new-order's value: whole seconds, "past" or "none"."""
    if value in ("past", "none") or (value.isascii() and value.isdigit()):
        return value
    raise argparse.ArgumentTypeError("whole seconds, past or none")


def renewal_info_answers(value):
    """--renewal-info's value: "window", "STATUS" or "STATUS:SECONDS", comma-separated."""
    answers = []
    for answer in value.split(","):
        if answer == "window":
            answers.append(("window", None))
            continue
        status, _, seconds = answer.partition(":")
        if not (status.isascii() and status.isdigit() and 400 <= int(status) <= 599) or (
                seconds and not (seconds.isascii() and seconds.isdigit())):
            raise argparse.ArgumentTypeError('"window", STATUS or STATUS:SECONDS, comma-separated')
        answers.append((int(status), seconds or None))
    return answers


# --bad-answer kinds that change the certificate download (sign_csr).
CHAIN_ANSWERS = ["chain-too-long", "chain-garbage", "chain-not-pem", "chain-empty",
                 "chain-wrong-key", "chain-other-names"]


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0: any free one")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--stall", choices=["new-order", "challenge", "handshake", "none"],
                        required=True)
    parser.add_argument("--retry-after", type=int, default=0,
                        help="--stall none: Retry-After of the processing answers (0: none)")
    parser.add_argument("--processing-polls", type=int, default=2,
                        help="--stall none: polls of the authorization and the order before valid")
    parser.add_argument("--delay", type=float, default=0, help="0: never answer")
    parser.add_argument("--trickle", type=float, default=0,
                        help="answer the stalled request's headers one byte every S seconds")
    parser.add_argument("--no-profiles", action="store_true",
                        help="a directory without meta.profiles")
    parser.add_argument("--user-action-required", action="store_true",
                        help="newOrder answers a userActionRequired problem (RFC 8555 §7.3.3)")
    parser.add_argument("--oversized-directory", action="store_true",
                        help="a directory answer of 2 MiB (a CA's answer past the client's cap)")
    parser.add_argument("--order-never-ready", action="store_true",
                        help="--stall none: the order stays pending once its authorization "
                             "is valid")
    parser.add_argument("--authorization-error", type=int, default=0,
                        help="the status reading an authorization answers (0: none)")
    parser.add_argument("--rate-limit-new-order", metavar="SECONDS|past|none",
                        type=rate_limit_retry_after,
                        help="newOrder answers 429 rateLimited with this Retry-After: delay-"
                             "seconds, an HTTP-date an hour ago (past), or none")
    parser.add_argument("--renewal-info", metavar="ANSWERS", type=renewal_info_answers,
                        help="offer renewalInfo and answer it in turn: window, STATUS or "
                             "STATUS:RETRY_AFTER, comma-separated, the last one repeated")
    parser.add_argument("--noisy-problem", choices=["new-order", "authorization"],
                        help="newOrder's problem, or the authorization's challenge error once "
                             "answered, about 900 KiB of control bytes")
    parser.add_argument("--long-strings", action="store_true",
                        help="profile names, caaIdentities, newOrder's profile and authorization "
                             "URL, and explanationURL of LONG_BYTES")
    parser.add_argument("--bad-answer", choices=["many-authorizations", "other-identifiers",
                                                 "long-url", "http-url", "unparseable-url",
                                                 "other-authorization", "long-token",
                                                 "padded-token", "two-authorizations",
                                                 "new-order-no-location", "directory-http-url",
                                                 "directory-long-url",
                                                 "directory-http-renewal-info", *CHAIN_ANSWERS],
                        help="one answer breaks RFC 8555's shape (see the usage)")
    parser.add_argument("--stall-directory-when", metavar="FILE",
                        help="the directory request is never answered while FILE exists")
    parser.add_argument("--renewal-info-allowance", metavar="FILE",
                        help="while FILE exists, the renewalInfo requests answered from now on "
                             "(the number it holds, less one per answer); the others stall")
    return parser.parse_args()


ARGS = parse_args()
BASE = ""  # https://127.0.0.1:<port>, once bound
STARTED = time.monotonic()
LOCK = threading.Lock()
PRINT_LOCK = threading.Lock()
# --stall none: per order number, what happened so far.
ANSWERED = set()        # orders whose dns-01 challenge was answered
AUTHZ_POLLS = {}        # order -> polls of its authorization since
FINALIZED = {}          # order -> polls of the order since finalize
CERTIFICATES = {}       # order -> the PEM chain issued
RETRY_AFTER_FORMS = itertools.count()
RENEWAL_INFO_ASKED = {}  # --renewal-info: path (its CertID) -> requests for it so far
ORDER_IDENTIFIERS = {}  # order -> the identifiers its newOrder asked for


def retry_after_header():
    """Retry-After as delay-seconds, then as an HTTP-date (RFC 9110 §10.2.3), in turn."""
    if ARGS.retry_after <= 0:
        return []
    if next(RETRY_AFTER_FORMS) % 2 == 0:
        return [("Retry-After", str(ARGS.retry_after))]
    return [("Retry-After", email.utils.formatdate(time.time() + ARGS.retry_after, usegmt=True))]


def rate_limit_header():
    """--rate-limit-new-order: the Retry-After of the 429, if any."""
    value = ARGS.rate_limit_new_order
    if value == "none":
        return []
    if value == "past":
        return [("Retry-After", email.utils.formatdate(time.time() - 3600, usegmt=True))]
    return [("Retry-After", value)]


NOISE = "\x1b[2J\r\n"  # a terminal's clear-screen and a line break
NOISY_ANSWER_BYTES = 900 * 1024


def noisy_problem(problem_type, subproblems=0):
    """--noisy-problem: a problem whose detail is NOISE repeated until its JSON is about
    NOISY_ANSWER_BYTES, with `subproblems` noisy ones (RFC 8555 §6.7.1)."""
    problem = {"type": problem_type, "detail": ""}
    if subproblems:
        problem["subproblems"] = [
            {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": NOISE * 4,
             "identifier": {"type": "dns", "value": f"n{i}.example{NOISE}"}}
            for i in range(subproblems)]
    room = NOISY_ANSWER_BYTES - len(json.dumps(problem))
    problem["detail"] = NOISE * (room // (len(json.dumps(NOISE)) - 2))
    return problem


LONG_BYTES = 100_000  # --long-strings: each string's length, far past any bound of the client


def long_strings_meta():
    """--long-strings: the directory's meta (RFC 8555 §7.1.1, draft-ietf-acme-profiles §3)."""
    profiles = {"default": NOISE * 1000, "p" * LONG_BYTES: "a name no client could send"}
    profiles.update({f"extra-{i:04}": "one of many" for i in range(2000)})
    return {"profiles": profiles,
            "caaIdentities": ["stand-in.test", "x" * LONG_BYTES + ".test", "bad name.test"]}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_payload(body):
    """The JSON a JWS request carries (RFC 7515 flattened JSON; signatures are not checked)."""
    return json.loads(b64url_decode(json.loads(body)["payload"]))


def order_identifiers(n):
    """The identifiers order n's newOrder asked for (RFC 8555 §7.4 echoes them); one of the
    stand-in's own for an order it does not know. Read without LOCK, which play_order holds (a
    dict's get is atomic; each entry is written once)."""
    return ORDER_IDENTIFIERS.get(n) or [{"type": "dns", "value": "stand-in.example"}]


def authorization_identifier(n):
    """The identifier of order n's authorization: its first, a wildcard as its base name with
    "wildcard": true (RFC 8555 §7.1.4); "other.example" with --bad-answer other-authorization."""
    names = [identifier["value"] for identifier in order_identifiers(n)]
    if ARGS.bad_answer == "other-authorization":
        names = ["other.example"]
    if names[0].startswith("*."):
        return {"identifier": {"type": "dns", "value": names[0][2:]}, "wildcard": True}
    return {"identifier": {"type": "dns", "value": names[0]}}


def challenge_token(n):
    """The dns-01 token of order n (RFC 8555 §8.1: base64url, 45 characters here), unless
    --bad-answer asks for a long or a padded one."""
    if ARGS.bad_answer == "long-token":
        return "t" * LONG_BYTES
    if ARGS.bad_answer == "padded-token":
        return base64.urlsafe_b64encode(bytes(32)).decode()  # 44 characters, one '='
    return f"token{n:0>40}"


def sign_csr(csr_der):
    """The leaf for the CSR, signed with the stand-in's own certificate, then that certificate;
    the download --bad-answer chain-... asks for instead (str, or bytes for DER)."""
    bad = ARGS.bad_answer
    with tempfile.TemporaryDirectory() as scratch:
        csr = os.path.join(scratch, "csr.der")
        leaf = os.path.join(scratch, "leaf.pem")
        with open(csr, "wb") as out:
            out.write(csr_der)
        command = ["openssl", "x509", "-req", "-inform", "DER", "-in", csr, "-CA", ARGS.cert,
                   "-CAkey", ARGS.key, "-days", "1", "-out", leaf]
        extensions = []
        if bad == "chain-other-names":
            extensions.append("subjectAltName = DNS:other.example")
        else:
            command += ["-copy_extensions", "copyall"]
        if ARGS.renewal_info:
            extensions.append(authority_key_id_extension())
        if extensions:
            command += ["-extfile", write_file(scratch, "extensions.cnf", extensions)]
        if bad == "chain-wrong-key":
            command += ["-force_pubkey", another_public_key(scratch)]
        subprocess.run(command, check=True, capture_output=True)
        with open(leaf) as issued, open(ARGS.cert) as issuer:
            leaf_pem, issuer_pem = issued.read(), issuer.read()
        if bad == "chain-not-pem":
            return subprocess.run(["openssl", "x509", "-in", leaf, "-outform", "DER"],
                                  check=True, capture_output=True).stdout
    if bad == "chain-too-long":
        return leaf_pem + filler_certificate() * 799
    if bad == "chain-garbage":
        return leaf_pem + "<html><body><h1>502 Bad Gateway</h1></body></html>\n"
    if bad == "chain-empty":
        return ""
    return leaf_pem + issuer_pem


def write_file(scratch, name, lines):
    path = os.path.join(scratch, name)
    with open(path, "w") as out:
        out.write("".join(line + "\n" for line in lines))
    return path


def another_public_key(scratch):
    """--bad-answer chain-wrong-key: the file of a P-256 public key nobody's CSR holds."""
    key, public = os.path.join(scratch, "other.key"), os.path.join(scratch, "other.pub")
    for command in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", key], ["pkey", "-in", key, "-pubout", "-out", public]):
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return public


FILLER = []  # --bad-answer chain-too-long: the one small certificate repeated, once made


def filler_certificate():
    """A self-signed P-256 certificate of about 560 bytes (its key thrown away)."""
    if not FILLER:
        with tempfile.TemporaryDirectory() as scratch:
            FILLER.append(subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(scratch, "key.pem"),
                 "-subj", "/CN=filler", "-days", "1"],
                check=True, capture_output=True, text=True).stdout)
    return FILLER[0]


def authority_key_id_extension():
    """The extensions file line giving the leaf an Authority Key Identifier (RFC 5280
    §4.2.1.1): RFC 9773 §4.1 builds the CertID from its keyIdentifier. The stand-in's certificate
    has no Subject Key Identifier to copy (openssl refuses "keyid:always"), so the key identifier
    is 20 bytes of its own making, the length of RFC 5280 §4.2.1.2's SHA-1 one, as DER:
    SEQUENCE { [0] ... }."""
    with open(ARGS.cert, "rb") as issuer:
        key_id = hashlib.sha1(issuer.read()).digest()
    return "authorityKeyIdentifier = DER:30:16:80:14:" + ":".join(f"{byte:02x}"
                                                                  for byte in key_id)


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def renewal_info_allowed():
    """--renewal-info-allowance: whether this renewalInfo request is answered (one taken off
    what FILE holds); all of them are without the option or FILE."""
    path = ARGS.renewal_info_allowance
    with LOCK:
        if not path or not os.path.exists(path):
            return True
        with open(path) as allowance:
            left = int(allowance.read().strip() or "0")
        if left <= 0:
            return False
        with open(path, "w") as allowance:
            allowance.write(str(left - 1))
        return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log_request_line(self, what=None):
        # One write per line, under a lock: print() writes the text and its newline apart, and
        # concurrent requests' lines ran into each other ("POST /x t=0.3POST /x t=0.3\n\n").
        with PRINT_LOCK:
            sys.stdout.write(f"{what or self.command} {self.path} "
                             f"t={time.monotonic() - STARTED:.3f}\n")
            sys.stdout.flush()

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
        self.send_header("Replay-Nonce", f"nonce-{next(counter)}")
        self.send_header("Cache-Control", "no-store")
        if body is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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

    def do_GET(self):
        self.log_request_line()
        if self.path == "/dir" and ARGS.stall_directory_when and \
                os.path.exists(ARGS.stall_directory_when):
            self.stall()
            self.close_connection = True
            return
        if self.path == "/dir":
            directory = {"newNonce": BASE + "/nonce", "newAccount": BASE + "/account",
                         "newOrder": BASE + "/order-plz", "revokeCert": BASE + "/revoke",
                         "keyChange": BASE + "/key-change"}
            # The profile the test stack names (ACME_PROFILE=default), as Pebble offers it
            # (draft-ietf-acme-profiles §3); --no-profiles: a CA that offers none.
            if not ARGS.no_profiles:
                directory["meta"] = {"profiles": {"default": "the stand-in's certificates"}}
            if ARGS.long_strings:
                directory["meta"] = long_strings_meta()
            if ARGS.oversized_directory:
                directory.setdefault("meta", {})["website"] = "x" * (2 << 20)
            if ARGS.renewal_info:
                directory["renewalInfo"] = BASE + "/renewal-info"
            bad = ARGS.bad_answer
            http_base = "http://127.0.0.1:" + BASE.rsplit(":", 1)[1]
            if bad == "unparseable-url":
                directory["newOrder"] = BASE + "/order-plz%zz"
            elif bad == "directory-http-url":
                directory["newAccount"] = http_base + "/account"
            elif bad == "directory-long-url":
                directory["newOrder"] = BASE + "/order-plz/" + "a" * LONG_BYTES
            elif bad == "directory-http-renewal-info":
                directory["renewalInfo"] = http_base + "/renewal-info"
            self.answer(200, directory)
        elif self.path == "/nonce":
            self.answer(204)
        elif ARGS.renewal_info and self.path.startswith("/renewal-info/"):
            if not renewal_info_allowed():
                self.stall()
                self.close_connection = True
                return
            self.answer_renewal_info()
        else:
            self.answer(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no"})

    def answer_renewal_info(self):
        """--renewal-info: the certificate's next answer, the last one repeated."""
        answers = ARGS.renewal_info
        with LOCK:
            asked = RENEWAL_INFO_ASKED.get(self.path, 0)
            RENEWAL_INFO_ASKED[self.path] = asked + 1
        status, retry_after = answers[min(asked, len(answers) - 1)]
        if status == "window":
            start = time.time() + 3600
            window = {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(start + 3600)}}
            if ARGS.long_strings:
                window["explanationURL"] = "https://stand-in.test/ari/" + "a" * LONG_BYTES
            self.answer(200, window, [("Retry-After", "21600")])
            return
        problem = "rateLimited" if status == 429 else "serverInternal" if status >= 500 \
            else "malformed"
        self.answer(status, {"type": f"urn:ietf:params:acme:error:{problem}",
                             "detail": f"the stand-in's renewalInfo answers {status} for now"},
                    [("Retry-After", retry_after)] if retry_after else [],
                    content_type="application/problem+json")

    def do_HEAD(self):
        self.log_request_line()
        self.answer(200)

    def do_POST(self):
        self.log_request_line()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if ARGS.authorization_error and self.path.startswith("/authz/"):
            self.fail_authorization(body)
            return
        if ARGS.stall == "none" and self.play_order(body):
            return
        if self.path == "/account":
            self.answer(201, {"status": "valid"}, [("Location", BASE + "/account/1")])
        elif self.path == "/order-plz" and ARGS.user_action_required:
            # RFC 8555 §7.3.3: new terms to agree to, at the problem's instance.
            self.answer(403, {"type": "urn:ietf:params:acme:error:userActionRequired",
                              "detail": "Terms of service have changed",
                              "instance": BASE + "/agreement?token=W8Ih3PswD-8"},
                        [("Link", f'<{BASE}/terms/v2>;rel="terms-of-service"')])
        elif self.path == "/order-plz" and ARGS.noisy_problem == "new-order":
            self.answer(400, noisy_problem("urn:ietf:params:acme:error:rejectedIdentifier", 1000))
        elif self.path == "/order-plz" and ARGS.rate_limit_new_order is not None:
            self.answer(429, {"type": "urn:ietf:params:acme:error:rateLimited",
                              "detail": "too many new orders recently for this account"},
                        rate_limit_header())
        elif self.path == "/order-plz":
            if ARGS.stall == "new-order":
                self.stall()
            n = next(counter)
            with LOCK:
                ORDER_IDENTIFIERS[n] = jws_payload(body).get("identifiers", [])
            # RFC 8555 §7.4: 201 and the order's URL in Location; --bad-answer
            # new-order-no-location: the order created, its URL not given.
            location = [] if ARGS.bad_answer == "new-order-no-location" else \
                [("Location", f"{BASE}/order/{n}")]
            self.answer(201, self.new_order(n), location)
        elif self.path.startswith("/authz/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.answer(200, {"status": "pending", "expires": "2099-01-01T00:00:00Z",
                              **authorization_identifier(n),
                              "challenges": [{"type": "dns-01", "status": "pending",
                                              "url": f"{BASE}/chall/{n}",
                                              "token": challenge_token(n)}]})
        elif self.path.startswith("/chall/"):
            if ARGS.stall == "challenge":
                self.stall()
            n = int(self.path.rsplit("/", 1)[1])
            self.answer(200, {"type": "dns-01", "status": "processing",
                              "url": BASE + self.path, "token": challenge_token(n)})
        else:
            self.answer(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no"})

    def new_order(self, n):
        """newOrder's answer for order n (RFC 8555 §7.4), as --long-strings and --bad-answer
        change it."""
        order = {"status": "pending", "expires": "2099-01-01T00:00:00Z",
                 "identifiers": order_identifiers(n), "authorizations": [f"{BASE}/authz/{n}"],
                 "finalize": f"{BASE}/finalize/{n}"}
        if ARGS.long_strings:
            order["profile"] = "p" * LONG_BYTES
            order["authorizations"] = [f"https://127.0.0.1:1/authz/{n}/" + "a" * 2000]
        bad = ARGS.bad_answer
        if bad == "many-authorizations":
            order["authorizations"] = [f"{BASE}/authz/{n}{i:04}" for i in range(1000)]
        elif bad == "other-identifiers":
            order["identifiers"] = [{"type": "dns", "value": "other.example"}]
        elif bad == "long-url":
            order["authorizations"] = [f"{BASE}/authz/{n}/" + "a" * LONG_BYTES]
        elif bad == "http-url":
            order["finalize"] = f"http://127.0.0.1:{BASE.rsplit(':', 1)[1]}/finalize/{n}"
        elif bad == "two-authorizations":
            # Its own number, for the same identifiers: read as order n's authorization is.
            second = next(counter)
            with LOCK:
                ORDER_IDENTIFIERS[second] = order_identifiers(n)
            order["authorizations"].append(f"{BASE}/authz/{second}")
        return order

    def fail_authorization(self, body):
        """--authorization-error: a read of the authorization (an empty payload) fails after
        newOrder created the order; its deactivation is answered."""
        if json.loads(body).get("payload", "") == "":
            self.answer(ARGS.authorization_error,
                        {"type": "urn:ietf:params:acme:error:serverInternal",
                         "detail": "the stand-in cannot read this authorization"})
            return
        self.deactivate()

    def deactivate(self):
        """A deactivation of the authorization at this path (RFC 8555 §7.5.2): printed,
        answered."""
        self.log_request_line("DEACTIVATED")
        self.answer(200, {"status": "deactivated", "expires": "2099-01-01T00:00:00Z",
                          "identifier": {"type": "dns", "value": "stand-in"}, "challenges": []})

    def play_order(self, body):
        """--stall none: the order's resources after newOrder; False for the others."""
        kind, _, number = self.path.strip("/").partition("/")
        if not number.isdigit():
            return False
        n = int(number)
        order = {"status": "pending", "expires": "2099-01-01T00:00:00Z",
                 "identifiers": order_identifiers(n), "authorizations": [f"{BASE}/authz/{n}"],
                 "finalize": f"{BASE}/finalize/{n}"}
        with LOCK:
            if kind == "authz" and json.loads(body).get("payload", "") != "":
                self.deactivate()
            elif kind == "authz":
                self.answer(200, *self.authorization(n))
            elif kind == "chall":
                ANSWERED.add(n)
                AUTHZ_POLLS[n] = 0
                self.answer(200, {"type": "dns-01", "status": "processing",
                                  "url": BASE + self.path, "token": challenge_token(n)})
            elif kind == "other-chall":
                self.answer(400, {"type": "urn:ietf:params:acme:error:malformed",
                                  "detail": "a challenge type the client does not speak"})
            elif kind == "order":
                if n in FINALIZED:
                    FINALIZED[n] += 1
                    if FINALIZED[n] > ARGS.processing_polls:
                        order.update(status="valid", certificate=f"{BASE}/cert/{n}")
                    else:
                        order["status"] = "processing"
                        self.answer(200, order, retry_after_header())
                        return True
                elif AUTHZ_POLLS.get(n, 0) > ARGS.processing_polls and not ARGS.order_never_ready:
                    order["status"] = "ready"
                self.answer(200, order)
            elif kind == "finalize":
                csr = json.loads(b64url_decode(json.loads(body)["payload"]))["csr"]
                CERTIFICATES[n] = sign_csr(b64url_decode(csr))
                FINALIZED[n] = 0
                order["status"] = "processing"
                # RFC 8555 §7.4: the updated order, and no Location header.
                self.answer(200, order, retry_after_header())
            elif kind == "cert" and n in CERTIFICATES:
                self.answer(200, CERTIFICATES[n], content_type="application/pem-certificate-chain")
            else:
                return False
        return True

    def authorization(self, n):
        """Pending; once its dns-01 challenge is answered, polled in "pending" and "processing"
        turns before it is valid. Challenge types the client does not speak come first."""
        status, challenge = "pending", "pending"
        headers = []
        if n in ANSWERED and ARGS.noisy_problem == "authorization":
            status = challenge = "invalid"
        elif n in ANSWERED:
            AUTHZ_POLLS[n] += 1
            polls = AUTHZ_POLLS[n]
            if polls > ARGS.processing_polls:
                status = challenge = "valid"
            else:
                status = "pending" if polls % 2 else "processing"
                challenge = "processing"
                headers = retry_after_header()
        dns01 = {"type": "dns-01", "status": challenge, "url": f"{BASE}/chall/{n}",
                 "token": challenge_token(n)}
        if challenge == "invalid":
            dns01["error"] = noisy_problem("urn:ietf:params:acme:error:unauthorized")
        return {"status": status, "expires": "2099-01-01T00:00:00Z",
                **authorization_identifier(n),
                "challenges": [
                    {"type": "dns-account-01", "status": "pending",
                     "url": f"{BASE}/other-chall/{n}", "token": f"other{n:0>40}"},
                    {"type": "dns-persist-01", "status": "pending",
                     "url": f"{BASE}/other-chall/{n}", "issuer-domain-names": ["stand-in.test"]},
                    dns01]}, headers


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
