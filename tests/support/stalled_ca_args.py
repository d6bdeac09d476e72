"""stalled_ca.py's command line: its options, parsed once into ARGS (the usage is in
stalled_ca.py)."""
import argparse


def rate_limit_retry_after(value):
    """--rate-limit-new-order's value: whole seconds, "past" or "none"."""
    if value in ("past", "none") or (value.isascii() and value.isdigit()):
        return value
    raise argparse.ArgumentTypeError("whole seconds, past or none")


def renewal_info_answers(value):
    """--renewal-info's value: "window", "after-expiry", "STATUS" or "STATUS:SECONDS",
    comma-separated."""
    answers = []
    for answer in value.split(","):
        if answer in ("window", "after-expiry"):
            answers.append((answer, None))
            continue
        status, _, seconds = answer.partition(":")
        if not (status.isascii() and status.isdigit() and 400 <= int(status) <= 599) or (
                seconds and not (seconds.isascii() and seconds.isdigit())):
            raise argparse.ArgumentTypeError(
                '"window", "after-expiry", STATUS or STATUS:SECONDS, comma-separated')
        answers.append((int(status), seconds or None))
    return answers


# --bad-answer kinds that change newOrder's "expires" (RFC 8555 §7.1.3: an RFC 3339 timestamp)
# to what it is not: the value each puts there.
EXPIRES_ANSWERS = {"expires-number": 12345, "expires-word": "tomorrow",
                   "expires-no-offset": "2099-01-01T00:00:00"}

# --bad-answer kinds that change the certificate download (stalled_ca_certs.sign_csr).
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
    parser.add_argument("--dns01-only", action="store_true",
                        help="--stall none: the authorization offers dns-01 alone, no "
                             "dns-account-01 nor dns-persist-01")
    parser.add_argument("--dns01-only-for-wildcards", action="store_true",
                        help="--stall none: as --dns01-only for a wildcard's authorization "
                             "alone, a CA that offers wildcards fewer methods")
    parser.add_argument("--caa-identities", action="store_true",
                        help="the directory's meta lists caaIdentities \"stand-in.test\", the "
                             "issuer its dns-persist-01 challenges name")
    parser.add_argument("--profiles-file", metavar="FILE",
                        help="while FILE exists, the directory's meta.profiles are the names "
                             "it holds, one a line, read at each directory request")
    parser.add_argument("--bind-once", action="store_true",
                        help="a CA requiring External Account Binding that refuses a second "
                             "binding of a key it knows, as Sectigo/ZeroSSL do")
    parser.add_argument("--refuse-only-existing", action="store_true",
                        help="--bind-once: newAccount with onlyReturnExisting is answered 400 "
                             "externalAccountRequired, known key or not")
    parser.add_argument("--first-binding", choices=["refused", "lost", "taken"],
                        help="--bind-once: the first newAccount with a binding is refused 403 "
                             "unbound, bound and its answer lost, or bound and answered as a "
                             "second binding (a concurrent process's came first)")
    parser.add_argument("--user-action-required", action="store_true",
                        help="newOrder answers a userActionRequired problem (RFC 8555 §7.3.3)")
    parser.add_argument("--new-order-problem",
                        choices=["userActionRequired", "unauthorized", "accountDoesNotExist",
                                 "unauthorized-names", "rejectedIdentifier"],
                        help="newOrder is refused with this problem, the order not created "
                             "(see the usage)")
    parser.add_argument("--oversized-directory", action="store_true",
                        help="a directory answer of 2 MiB (a CA's answer past the client's cap)")
    parser.add_argument("--order-never-ready", action="store_true",
                        help="--stall none: the order stays pending once its authorization "
                             "is valid")
    parser.add_argument("--lose-finalize-answer", action="store_true",
                        help="--stall none: finalize is acted on (the certificate issued) and "
                             "its connection closed unanswered")
    parser.add_argument("--slow-finalize", metavar="SECONDS", type=float, default=0,
                        help="--stall none: every finalize answered SECONDS late, the first "
                             "with badNonce")
    parser.add_argument("--slow-new-order", metavar="SECONDS", type=float, default=0,
                        help="every newOrder answered SECONDS late, the first with badNonce")
    parser.add_argument("--slow-new-order-while", metavar="FILE",
                        help="with --slow-new-order: only the newOrders that come while FILE "
                             "exists; the others answered at once")
    parser.add_argument("--slow-answers", metavar="SECONDS", type=float, default=0,
                        help="every request waits SECONDS before it is answered: a CA slow but "
                             "in time")
    parser.add_argument("--slow-authorization-read", metavar="SECONDS", type=float, default=0,
                        help="a read of an authorization waits SECONDS more before it is "
                             "answered (a deactivation does not)")
    parser.add_argument("--bad-nonce-new-order", metavar="N", nargs="?", type=int, const=-1,
                        default=0,
                        help="every newOrder answered badNonce, however often it is sent again; "
                             "with N only the first N")
    parser.add_argument("--fresh-nonces", metavar="N", type=int, default=0,
                        help="a POST not signed with one of the N newest nonces issued and not "
                             "used yet is answered badNonce (0: any nonce)")
    parser.add_argument("--authorization-error", type=int, default=0,
                        help="the status reading an authorization answers (0: none)")
    parser.add_argument("--authorization-errors-left", metavar="FILE",
                        help="with --authorization-error: only while FILE exists, as many reads "
                             "as the number it holds (less one per error); the others answered")
    parser.add_argument("--rate-limit-new-order", metavar="SECONDS|past|none",
                        type=rate_limit_retry_after,
                        help="newOrder answers 429 rateLimited with this Retry-After: delay-"
                             "seconds, an HTTP-date an hour ago (past), or none")
    parser.add_argument("--renewal-info", metavar="ANSWERS", type=renewal_info_answers,
                        help="offer renewalInfo and answer it in turn: window, after-expiry, "
                             "STATUS or STATUS:RETRY_AFTER, comma-separated, the last one "
                             "repeated")
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
                                                 "challenge-not-object",
                                                 "new-order-no-location", "directory-http-url",
                                                 "directory-long-url",
                                                 "directory-http-renewal-info",
                                                 "order-not-json", "order-cut",
                                                 "account-redirect", "new-order-redirect",
                                                 *EXPIRES_ANSWERS, *CHAIN_ANSWERS],
                        help="one answer breaks RFC 8555's shape (see the usage)")
    parser.add_argument("--fail-directory-when", metavar="FILE",
                        help="the directory request is answered 503 while FILE exists")
    parser.add_argument("--stall-directory-when", metavar="FILE",
                        help="the directory request is never answered while FILE exists")
    parser.add_argument("--hold-deactivation-while", metavar="FILE",
                        help="a deactivation of an authorization is answered only once FILE "
                             "is gone")
    parser.add_argument("--hold-authorization-while", metavar="FILE",
                        help="a read of an authorization is answered only once FILE is gone")
    parser.add_argument("--renewal-info-allowance", metavar="FILE",
                        help="while FILE exists, the renewalInfo requests answered from now on "
                             "(the number it holds, less one per answer); the others stall")
    return parser.parse_args()


ARGS = parse_args()
