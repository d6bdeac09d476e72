"""The pieces of stalled_ca.py's ACME answers (RFC 8555) and what it remembers of its orders:
identifiers, tokens, Retry-After headers, the noisy problems and long strings, renewalInfo's
allowance, the authorization errors left."""
import base64
import collections
import email.utils
import itertools
import json
import os
import threading
import time

from stalled_ca_args import ARGS

# One sequence numbers the nonces (StandInHandler.answer) and the orders.
counter = itertools.count(1)
LOCK = threading.Lock()
# --stall none: per order number, what happened so far.
ANSWERED = set()        # orders whose dns-01 challenge was answered
AUTHZ_POLLS = {}        # order -> polls of its authorization since
FINALIZED = {}          # order -> polls of the order since finalize
CERTIFICATES = {}       # order -> the PEM chain issued
RETRY_AFTER_FORMS = itertools.count()
RENEWAL_INFO_ASKED = {}  # --renewal-info: path (its CertID) -> requests for it so far
ORDER_IDENTIFIERS = {}  # order -> the identifiers its newOrder asked for
POLLED_ORDERS = set()  # orders read at least once (--bad-answer order-not-json, order-cut)


NONCE_LOCK = threading.Lock()  # apart from LOCK: answers are sent while LOCK is held
FRESH_NONCES = collections.deque()  # --fresh-nonces: the newest nonces issued and not used


def issue_nonce():
    """A new Replay-Nonce (RFC 8555 §6.5), one of FRESH_NONCES with --fresh-nonces."""
    nonce = f"nonce-{next(counter)}"
    if ARGS.fresh_nonces:
        with NONCE_LOCK:
            FRESH_NONCES.append(nonce)
            while len(FRESH_NONCES) > ARGS.fresh_nonces:
                FRESH_NONCES.popleft()
    return nonce


def nonce_accepted(body):
    """--fresh-nonces N: whether the JWS request `body` is signed with one of the N newest nonces
    issued and not used yet (then it is used); any nonce without the option."""
    if not ARGS.fresh_nonces:
        return True
    nonce = json.loads(b64url_decode(json.loads(body)["protected"])).get("nonce")
    with NONCE_LOCK:
        if nonce not in FRESH_NONCES:
            return False
        FRESH_NONCES.remove(nonce)
        return True


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


def directory_profiles():
    """The directory's meta.profiles (draft-ietf-acme-profiles §3): "default", the profile the
    test stack names (ACME_PROFILE=default), as Pebble offers it; with --profiles-file FILE, while
    FILE exists, the names it holds, one a line: a CA that adds a profile while the service runs
    (tests/fault/ca_directory_change_test.cpp)."""
    path = ARGS.profiles_file
    if not path or not os.path.exists(path):
        return {"default": "the stand-in's certificates"}
    with open(path) as names:
        return {name: "from " + path for name in names.read().split()}


BOUND_KEYS = {}  # --bind-once: an account key's JWK (as JSON) -> its account number
FIRST_BINDING = {"failed": False}  # --first-binding: whether the first binding was failed yet
NOT_AWAITING_BINDING = {"type": "urn:ietf:params:acme:error:malformed",
                        "detail": "[External Account Binding] The account is not awaiting "
                                  "external account binding"}


def bound_account(body, base):
    """--bind-once: newAccount (RFC 8555 §7.3) at a CA that requires External Account Binding
    (§7.3.4) and binds a key once, as Sectigo/ZeroSSL do: (status, answer, headers, what), what
    the request is printed as again (None: not). A binding of a new key is taken (201, "BOUND"),
    of a known one refused 400 malformed, Sectigo's answer ("REBOUND"); onlyReturnExisting
    (§7.3.1) finds a known key's account (200), else accountDoesNotExist; a new key without a
    binding: externalAccountRequired. Neither signatures nor MACs are checked. --first-binding
    fails the first binding (status None: the connection is closed unanswered)."""
    key = json.dumps(json.loads(b64url_decode(json.loads(body)["protected"]))["jwk"],
                     sort_keys=True)
    payload = jws_payload(body)
    only_existing = payload.get("onlyReturnExisting") is True
    binding = "externalAccountBinding" in payload and not only_existing
    with LOCK:
        failure = None
        if binding and ARGS.first_binding and not FIRST_BINDING["failed"]:
            FIRST_BINDING["failed"] = True
            failure = ARGS.first_binding
        if failure == "refused":
            return 403, {"type": "urn:ietf:params:acme:error:unauthorized",
                         "detail": "[External Account Binding] the key id is not active yet"}, \
                [], "REFUSED"
        known = BOUND_KEYS.get(key)
        if known is None and binding:
            known = BOUND_KEYS[key] = len(BOUND_KEYS) + 1
            if failure == "lost":
                return None, None, [], "LOST"
            if failure == "taken":
                # As a concurrent process's binding came first and this one lost the race.
                return 400, NOT_AWAITING_BINDING, [], "TAKEN"
            return 201, {"status": "valid"}, [("Location", f"{base}/account/{known}")], "BOUND"
    if only_existing and ARGS.refuse_only_existing:
        return 400, {"type": "urn:ietf:params:acme:error:externalAccountRequired",
                     "detail": "an External Account Binding is required"}, [], "UNCONFIRMED"
    if known is None:
        problem = "accountDoesNotExist" if only_existing else "externalAccountRequired"
        return 400, {"type": f"urn:ietf:params:acme:error:{problem}",
                     "detail": "no account for this key, and no binding"}, [], None
    if binding:
        return 400, NOT_AWAITING_BINDING, [], "REBOUND"
    return 200, {"status": "valid"}, [("Location", f"{base}/account/{known}")], None


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_payload(body):
    """The JSON a JWS request carries (RFC 7515 flattened JSON; signatures are not checked)."""
    return json.loads(b64url_decode(json.loads(body)["payload"]))


def order_identifiers(n):
    """The identifiers order n's newOrder asked for (RFC 8555 §7.4 echoes them); one of the
    stand-in's own for an order it does not know. Read without LOCK, which
    AcmeHandler.play_order holds (a dict's get is atomic; each entry is written once)."""
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


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def take_one(path):
    """Whether the count FILE holds is above 0, one then taken off it; under LOCK."""
    with open(path) as count:
        left = int(count.read().strip() or "0")
    if left <= 0:
        return False
    with open(path, "w") as count:
        count.write(str(left - 1))
    return True


def renewal_info_allowed():
    """--renewal-info-allowance: whether this renewalInfo request is answered (one taken off
    what FILE holds); all of them are without the option or FILE."""
    path = ARGS.renewal_info_allowance
    with LOCK:
        if not path or not os.path.exists(path):
            return True
        return take_one(path)


def authorization_error_due(read):
    """--authorization-error: whether this request for an authorization (a read, else a
    deactivation) fails. With --authorization-errors-left FILE only a read does, while FILE
    holds a count above 0 (one taken off): an error that passes."""
    path = ARGS.authorization_errors_left
    if not path:
        return True
    with LOCK:
        return read and os.path.exists(path) and take_one(path)


def slow_new_order_due():
    """--slow-new-order: whether this newOrder is answered late; with --slow-new-order-while
    FILE only while FILE exists (a test's first order placed at once, its renewal's late)."""
    path = ARGS.slow_new_order_while
    return ARGS.slow_new_order > 0 and (not path or os.path.exists(path))


def hold_authorization_request(handler, deactivation):
    """--hold-deactivation-while FILE (a deactivation) or --hold-authorization-while FILE (a
    read): the request waits while FILE exists, its "HELD PATH" line printed first; outside
    LOCK, so that the stand-in answers everything else meanwhile."""
    path = ARGS.hold_deactivation_while if deactivation else ARGS.hold_authorization_while
    if not path or not os.path.exists(path):
        return
    handler.log_request_line("HELD")
    while os.path.exists(path):
        time.sleep(0.02)
