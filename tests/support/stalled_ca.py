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
dns-persist-01 before dns-01 (RFC 8555 §7.5: the client picks; with --dns01-only dns-01 alone,
a CA that does not offer dns-persist-01, tests/fault/several_cas_test.cpp; with
--dns01-only-for-wildcards so for a wildcard's authorization alone, as a CA may offer wildcards
fewer methods, tests/integration/persist_issuer_test.cpp); once the dns-01
challenge is answered the authorization is polled --processing-polls times before it is valid,
answering "pending" and "processing" in turn with the challenge "processing"; finalize answers
"processing" without a Location header (RFC 8555 §7.4 asks for none); the order is then polled
--processing-polls times as "processing" before it is valid; and the certificate is the CSR
signed with CERT/KEY (openssl). Every "processing" answer carries Retry-After: --retry-after,
as delay-seconds and as an HTTP-date in turn (Pebble also sends either). Each request line ends
with " t=<seconds>" (a monotonic clock), so a test can see how far apart the polls came.

  stalled_ca.py [--port P] --cert CERT --key KEY --stall new-order|challenge|handshake [--delay S]
                [--trickle S] [--no-profiles]
  stalled_ca.py [--port P] --cert CERT --key KEY --stall none [--retry-after S]
                [--processing-polls N] [--no-profiles] [--dns01-only]
                [--dns01-only-for-wildcards] [--user-action-required]
                [--new-order-problem TYPE]
                [--authorization-error STATUS [--authorization-errors-left FILE]]
                [--order-never-ready] [--lose-finalize-answer] [--slow-finalize S]
                [--slow-new-order S [--slow-new-order-while FILE]]
                [--rate-limit-new-order SECONDS|past|none] [--renewal-info ANSWERS]
                [--noisy-problem new-order|authorization] [--stall-directory-when FILE]
                [--long-strings] [--bad-answer WHAT]
                [--renewal-info-allowance FILE] [--hold-deactivation-while FILE]
                [--hold-authorization-while FILE] [--profiles-file FILE] [--bind-once]
                [--first-binding refused|lost|taken] [--refuse-only-existing]
                [--fail-directory-when FILE] [--fresh-nonces N] [--caa-identities]
                [--slow-answers S] [--bad-nonce-new-order [N]] [--slow-authorization-read S]

With --rate-limit-new-order RETRY_AFTER every newOrder is answered 429 with a rateLimited problem
(RFC 8555 §6.7), as a CA whose limit the account hit, with Retry-After: RETRY_AFTER (RFC 9110
§10.2.3) as delay-seconds when it is a number ("0" too), an HTTP-date an hour ago for "past",
and no Retry-After at all for "none".

With --new-order-problem TYPE every newOrder is refused, no order created, as a CA refuses our
stored account or the names (tests/fault/ca_pass_over_test.cpp): "userActionRequired" 403
with new terms to agree to at the problem's instance and a Link rel="terms-of-service" (RFC 8555
§7.3.3; --user-action-required is the same); "unauthorized" 401 unauthorized, as for a
deactivated account (§7.3.6); "accountDoesNotExist" 400 accountDoesNotExist, each time, even
after newAccount registered the key again; "unauthorized-names" 403 unauthorized with one
rejectedIdentifier subproblem per identifier asked for (§6.7.1): the names refused, not the
account; "rejectedIdentifier" 400 rejectedIdentifier naming them (§6.7), no subproblems.

With --caa-identities the directory's meta lists caaIdentities "stand-in.test" (RFC 8555
§7.1.1), the issuer its dns-persist-01 challenges name: a customer's _validation-persist record
naming it and our account (the stand-in answers every newAccount with its /account/1) is usable
there (tests/fault/ca_pass_over_test.cpp).

With --noisy-problem the CA's problem text is a terminal's clear-screen and line breaks
("\x1b[2J\r\n") repeated until the answer is about 900 KiB (under the client's 1 MiB cap; JSON
writes each 6 bytes of it in 13): "new-order" answers newOrder 400 rejectedIdentifier with such a
detail and 1000 subproblems (tests/fault/ca_problem_text_test.cpp); "authorization" makes the
authorization invalid once its dns-01 challenge is answered, the challenge's error such a detail.

With --order-never-ready the order stays "pending" after its authorization is valid (RFC 8555
§7.1.6 says it becomes "ready"): a CA that never lets it be finalized.

With --lose-finalize-answer finalize is acted on (the CSR signed, the order "processing" and
then valid as above) and its connection closed without an answer, printed as "LOST PATH
t=<seconds>" after its "POST PATH" line: a finalize the CA took whose answer was lost
(tests/fault/ca_issuing_test.cpp).

With --slow-finalize S every finalize is answered S seconds after it came, the first with a
badNonce problem (RFC 8555 §6.5; printed as "BADNONCE PATH t=<seconds>"): one call of the
client's that sends two requests, each taking S (tests/fault/lease_per_request_test.cpp).

With --slow-new-order S every newOrder is answered S seconds after it came, the first with
badNonce (printed as "BADNONCE /order-plz t=<seconds>"), as finalize is with --slow-finalize;
with --slow-new-order-while FILE too, only those that come while FILE exists (the others at
once): a scheduler's placement of a renewal whose newOrder call sends two requests, each taking
S, issue-certificate's first order placed at once (tests/fault/lease_per_request_test.cpp).

With --authorization-error STATUS newOrder still creates the order (201), but reading its
authorization (POST-as-GET, RFC 8555 §6.3) answers STATUS with a serverInternal problem. With
--authorization-errors-left FILE too, only while FILE exists and holds a count above 0: each
such error takes one off it, and every other request is answered as without the option (with
--stall none, the whole order played): a CA error that passes, when and as often as a test
writes it (tests/fault/renewal_late_customer_test.cpp).

A deactivation of an authorization (RFC 8555 §7.5.2: a POST with a payload, where a read's is
empty) is answered and printed as "DEACTIVATED PATH t=<seconds>", after its "POST PATH" line.
With --hold-deactivation-while FILE, one that comes while FILE exists is printed as "HELD PATH
t=<seconds>" and answered once FILE is gone: a DELETE held between its CA requests while
issue-certificate completes (tests/fault/delete_during_issue_test.cpp). With
--hold-authorization-while FILE, a read of an authorization that comes while FILE exists is
printed and answered so: a scheduler's placement held at the CA, after newOrder, while its domain
is deleted (the same test).

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
RFC 8555 §7.4), or its "expires" (§7.1.3: an RFC 3339 timestamp) is the number 12345
("expires-number"), "tomorrow" ("expires-word") or "2099-01-01T00:00:00", no offset
("expires-no-offset"; the order's later reads as usual); the authorization is for another name
("other-authorization"), or its dns-01 token is LONG_BYTES long ("long-token") or base64url
with '=' padding ("padded-token"), or its challenges start with the number 1, no object
("challenge-not-object", RFC 8555 §7.1.4). Or the directory
(tests/fault/ca_directory_shape_test.cpp): its newOrder URL does not parse, "%zz" in its path
("unparseable-url"), its newAccount URL is http ("directory-http-url", RFC 8555 §6.1), its
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
The first read of each order (POST-as-GET, RFC 8555 §7.4; tests/fault/ca_answer_body_test.cpp)
is answered 200 with an HTML page, as a proxy in front of a CA may ("order-not-json", printed
again as "NOT-JSON PATH t=<seconds>"), or with the order whole under a Content-Length 64 bytes
longer, the connection then ended with TLS close_notify: a body cut short by a clean close
("order-cut", printed again as "CUT PATH t=<seconds>"). Later reads are answered as usual.
newAccount is answered 307 with "Location: https://elsewhere.example/acct/1"
("account-redirect", RFC 8555 §7.3 answers 201 or 200; tests/fault/ca_answer_status_test.cpp),
or newOrder 307 with "Location: https://elsewhere.example/order/N" and the order as its body
("new-order-redirect", §7.4 answers 201), each printed again as "REDIRECTED PATH t=<seconds>".

With --profiles-file FILE the directory's meta.profiles are, while FILE exists, the names it
holds, one a line, read again at each directory request (else "default" alone): a CA that adds
a profile while the service runs (tests/fault/ca_directory_change_test.cpp).

With --bind-once the CA requires External Account Binding (RFC 8555 §7.3.4: its directory's
meta says externalAccountRequired and lists caaIdentities "stand-in.test") and binds each
account key once, as Sectigo/ZeroSSL do: newAccount with a binding for a new key registers it
(its line printed again as "BOUND PATH t=<seconds>"); another binding for a key it knows is
answered 400 malformed "The account is not awaiting external account binding" ("REBOUND PATH
..."); onlyReturnExisting (§7.3.1) finds a known key's account, else accountDoesNotExist
(tests/fault/ca_account_binding_test.cpp). With --first-binding the first newAccount with a
binding fails, printed again as "WHAT PATH ...": "refused" answers 403 unauthorized and binds
nothing (REFUSED); "lost" binds the key and closes the connection unanswered (LOST); "taken"
binds the key and answers as to a second binding, as a process that lost a race to bind it
concurrently is answered (TAKEN). With --refuse-only-existing onlyReturnExisting is answered
400 externalAccountRequired whatever the key, printed again as "UNCONFIRMED PATH ...": a CA that
does not answer §7.3.1 as written.

With --fresh-nonces N a POST signed with a nonce (RFC 8555 §6.5) that is not one of the N
newest it issued and not used yet is answered 400 badNonce (printed again as "BADNONCE PATH
t=<seconds>"), with a fresh nonce as every answer: a CA that expires nonces, whose every answer,
GETs' too, carries one (tests/fault/ca_nonce_test.cpp).

With --slow-answers S every request, once its line is printed, waits S seconds before it is
read further and answered (any --stall; the others are answered meanwhile): a CA whose every
answer is slow but within the client's timeout. With --bad-nonce-new-order every newOrder is
answered 400 badNonce (RFC 8555 §6.5; printed again as "BADNONCE /order-plz t=<seconds>"), with
a fresh nonce, however often the client sends it again: each of its retries is one more round
trip (tests/fault/ca_call_budget_test.cpp). With --bad-nonce-new-order N only the first N are.
With --slow-authorization-read S a read of an authorization waits S seconds more (after
--slow-answers' wait), a deactivation not: a read a client's budget cuts.

With --fail-directory-when FILE the directory request is answered 503 serverInternal while
FILE exists: a CA whose directory alone is down, its other resources answering
(tests/fault/ca_directory_change_test.cpp).

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
hour, with Retry-After: 21600 (§4.2's example); "after-expiry" the same window two days ahead,
after the end of the certificate (its certificates last a day: a CA's bug, or a stale answer
from a cache; tests/fault/ari_window_clamp_test.cpp); "STATUS" or "STATUS:SECONDS" an error
answer with that status (a rateLimited problem for 429, serverInternal for 5xx, malformed
otherwise) and Retry-After: SECONDS when given. "503:60,window": a CA overloaded for a minute,
then its window.
"""
import os
import sys

# Its modules sit next to it: stalled_ca_args (the options), stalled_ca_server (TLS, the request
# lines, the stalls), stalled_ca_answers (the ACME resources), stalled_ca_acme (their pieces,
# the orders' state), stalled_ca_certs (the signing, the bad chains). sys.path[0] is this
# file's directory when it is run by path, from any cwd, unless PYTHONSAFEPATH or -I leaves it
# out. No __pycache__: importing them must not write into the source tree.
HERE = os.path.dirname(os.path.realpath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import threading  # noqa: E402

from stalled_ca_args import ARGS  # noqa: E402 (parses the command line, exits on --help)
from stalled_ca_answers import AcmeHandler, listening_on  # noqa: E402
from stalled_ca_server import serve_silent, tls_server  # noqa: E402


def main():
    if ARGS.stall == "handshake":
        serve_silent()
        return
    server = tls_server(AcmeHandler)
    listening_on(server.server_address[1])
    print(f"listening {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
