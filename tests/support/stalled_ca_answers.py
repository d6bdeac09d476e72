"""stalled_ca.py's ACME resources (RFC 8555, RFC 9773's renewalInfo) as its options shape
them: the directory, newNonce, newAccount, newOrder, the authorization and its challenges,
finalize, the order and the certificate, each with what --bad-answer and the like break."""
import json
import os
import time

from stalled_ca_acme import (ANSWERED, AUTHZ_POLLS, CERTIFICATES, FINALIZED, LOCK, LONG_BYTES,
                             ORDER_IDENTIFIERS, POLLED_ORDERS, RENEWAL_INFO_ASKED,
                             authorization_error_due,
                             authorization_identifier,
                             b64url_decode, bound_account, challenge_token, counter,
                             directory_profiles, hold_authorization_request,
                             jws_payload, long_strings_meta, noisy_problem, nonce_accepted,
                             order_identifiers,
                             rate_limit_header, renewal_info_allowed, retry_after_header, rfc3339,
                             slow_new_order_due)
from stalled_ca_args import ARGS, EXPIRES_ANSWERS
from stalled_ca_certs import sign_csr
from stalled_ca_server import StandInHandler

BASE = ""  # https://127.0.0.1:<port>, once bound
# --bad-answer account-redirect, new-order-redirect: where the redirect points.
ELSEWHERE = "https://elsewhere.example"
# --bad-answer order-not-json: what a proxy in front of a CA may answer in its place.
NOT_JSON_PAGE = "<html><head><title>Maintenance</title></head><body>Back soon.</body></html>\n"
SLOW_FINALIZE_ANSWERED = []  # --slow-finalize: the finalize requests answered so far
SLOW_NEW_ORDERS_ANSWERED = []  # --slow-new-order: the newOrder requests answered late so far
NEW_ORDERS_REFUSED_NONCE = []  # --bad-nonce-new-order: the newOrders refused badNonce so far


def new_order_refused_nonce():
    """--bad-nonce-new-order [N]: whether this newOrder is refused badNonce (every one, or the
    first N)."""
    with LOCK:
        wanted = ARGS.bad_nonce_new_order
        if wanted == 0 or (wanted > 0 and len(NEW_ORDERS_REFUSED_NONCE) >= wanted):
            return False
        NEW_ORDERS_REFUSED_NONCE.append(True)
        return True


def listening_on(port):
    """The port the server was bound to: every URL the answers give starts with BASE."""
    global BASE
    BASE = f"https://127.0.0.1:{port}"


class AcmeHandler(StandInHandler):
    def do_GET(self):
        self.log_request_line()
        self.slow_down()
        if self.path == "/dir" and ARGS.stall_directory_when and \
                os.path.exists(ARGS.stall_directory_when):
            self.stall()
            self.close_connection = True
            return
        if self.path == "/dir" and ARGS.fail_directory_when and \
                os.path.exists(ARGS.fail_directory_when):
            self.answer(503, {"type": "urn:ietf:params:acme:error:serverInternal",
                              "detail": "the stand-in's directory is down for now"},
                        content_type="application/problem+json")
            return
        if self.path == "/dir":
            directory = {"newNonce": BASE + "/nonce", "newAccount": BASE + "/account",
                         "newOrder": BASE + "/order-plz", "revokeCert": BASE + "/revoke",
                         "keyChange": BASE + "/key-change"}
            # The profile the test stack names (ACME_PROFILE=default), as Pebble offers it
            # (draft-ietf-acme-profiles §3); --no-profiles: a CA that offers none.
            if not ARGS.no_profiles:
                directory["meta"] = {"profiles": directory_profiles()}
            if ARGS.long_strings:
                directory["meta"] = long_strings_meta()
            if ARGS.bind_once:
                # A CA that binds accounts (RFC 8555 §7.3.4) and names itself for CAA, so the
                # scheduler records its dns-persist-01 issuer at start.
                directory.setdefault("meta", {}).update(externalAccountRequired=True,
                                                        caaIdentities=["stand-in.test"])
            if ARGS.caa_identities:
                # The issuer its dns-persist-01 challenges name: a customer's record naming it
                # and our account is usable (the CAA precheck reads these, RFC 8555 §7.1.1).
                directory.setdefault("meta", {})["caaIdentities"] = ["stand-in.test"]
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
        if status in ("window", "after-expiry"):
            # after-expiry: two days ahead, past the end of any certificate it issued (a day).
            start = time.time() + (3600 if status == "window" else 2 * 86400)
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
        self.slow_down()
        self.answer(200)

    def do_POST(self):
        self.log_request_line()
        self.slow_down()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not nonce_accepted(body) or (self.path == "/order-plz" and new_order_refused_nonce()):
            self.refuse_nonce()
            return
        if self.path.startswith("/authz/") and json.loads(body).get("payload", "") == "" and \
                ARGS.slow_authorization_read > 0:
            time.sleep(ARGS.slow_authorization_read)  # outside any lock, as slow_down
        if self.path.startswith("/authz/"):
            # A read's payload is empty (RFC 8555 §6.3); a deactivation's is not (§7.5.2).
            hold_authorization_request(self, json.loads(body).get("payload", "") != "")
        if ARGS.authorization_error and self.path.startswith("/authz/") and \
                authorization_error_due(json.loads(body).get("payload", "") == ""):
            self.fail_authorization(body)
            return
        if ARGS.slow_finalize and self.path.startswith("/finalize/") and \
                self.answer_late(ARGS.slow_finalize, SLOW_FINALIZE_ANSWERED):
            return
        if self.path == "/order-plz" and slow_new_order_due() and \
                self.answer_late(ARGS.slow_new_order, SLOW_NEW_ORDERS_ANSWERED):
            return
        if ARGS.stall == "none" and self.play_order(body):
            return
        if self.path == "/account" and ARGS.bind_once:
            status, answer, headers, what = bound_account(body, BASE)
            if what:
                self.log_request_line(what)
            if status is None:
                self.close_connection = True  # acted on, its answer lost
                return
            self.answer(status, answer, headers, content_type="application/problem+json"
                        if status >= 400 else "application/json")
        elif self.path == "/account" and ARGS.bad_answer == "account-redirect":
            self.log_request_line("REDIRECTED")
            self.answer(307, {"status": "valid"}, [("Location", ELSEWHERE + "/acct/1")])
        elif self.path == "/account":
            self.answer(201, {"status": "valid"}, [("Location", BASE + "/account/1")])
        elif self.path == "/order-plz" and (ARGS.user_action_required or ARGS.new_order_problem):
            self.refuse_new_order(body)
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
            # new-order-no-location: the order created, its URL not given; new-order-redirect:
            # 307 to another host, the order in its body.
            redirect = ARGS.bad_answer == "new-order-redirect"
            location = [] if ARGS.bad_answer == "new-order-no-location" else \
                [("Location", f"{ELSEWHERE if redirect else BASE}/order/{n}")]
            if redirect:
                self.log_request_line("REDIRECTED")
            self.answer(307 if redirect else 201, self.new_order(n), location)
        elif self.path.startswith("/authz/") and json.loads(body).get("payload", "") != "":
            self.deactivate()  # a read's payload is empty (RFC 8555 §6.3)
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

    def refuse_new_order(self, body):
        """--new-order-problem (--user-action-required: userActionRequired): newOrder refused,
        no order created."""
        kind = ARGS.new_order_problem or "userActionRequired"
        if kind == "userActionRequired":
            # RFC 8555 §7.3.3: new terms to agree to, at the problem's instance.
            self.answer(403, {"type": "urn:ietf:params:acme:error:userActionRequired",
                              "detail": "Terms of service have changed",
                              "instance": BASE + "/agreement?token=W8Ih3PswD-8"},
                        [("Link", f'<{BASE}/terms/v2>;rel="terms-of-service"')])
        elif kind == "unauthorized":
            # RFC 8555 §7.3.6: a deactivated account's requests are answered 401 unauthorized.
            self.answer(401, {"type": "urn:ietf:params:acme:error:unauthorized",
                              "detail": 'Account has status "deactivated"'},
                        content_type="application/problem+json")
        elif kind == "accountDoesNotExist":
            self.answer(400, {"type": "urn:ietf:params:acme:error:accountDoesNotExist",
                              "detail": "the stand-in knows no account for this key"},
                        content_type="application/problem+json")
        elif kind == "rejectedIdentifier":
            # RFC 8555 §6.7: "The server will not issue certificates for the identifier".
            names = ", ".join(identifier.get("value", "")
                              for identifier in jws_payload(body).get("identifiers", []))
            self.answer(400, {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                              "detail": f"The stand-in will not issue for {names}"},
                        content_type="application/problem+json")
        else:
            # unauthorized-names: the names refused, each in a subproblem naming it (§6.7.1).
            identifiers = jws_payload(body).get("identifiers", [])
            self.answer(403, {"type": "urn:ietf:params:acme:error:unauthorized",
                              "detail": "The stand-in will not issue for these names",
                              "subproblems": [
                                  {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                                   "detail": f"will not issue for {identifier.get('value')}",
                                   "identifier": identifier}
                                  for identifier in identifiers]},
                        content_type="application/problem+json")

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
        elif bad in EXPIRES_ANSWERS:
            order["expires"] = EXPIRES_ANSWERS[bad]
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

    def answer_late(self, seconds, answered):
        """--slow-finalize, --slow-new-order: waits `seconds` (outside LOCK); True when this
        request was answered badNonce, the first of those `answered` late so far."""
        time.sleep(seconds)
        with LOCK:
            first = not answered
            answered.append(self.path)
        if not first:
            return False
        self.refuse_nonce()
        return True

    def refuse_nonce(self):
        """RFC 8555 §6.5: the request refused badNonce, printed as "BADNONCE PATH t=<seconds>",
        with a fresh nonce (every answer carries one) to retry with."""
        self.log_request_line("BADNONCE")
        self.answer(400, {"type": "urn:ietf:params:acme:error:badNonce",
                          "detail": "JWS has an invalid anti-replay nonce"},
                    content_type="application/problem+json")

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
                first_read = n not in POLLED_ORDERS
                POLLED_ORDERS.add(n)
                if first_read and ARGS.bad_answer == "order-not-json":
                    # A proxy's page where the order should be, in a success answer.
                    self.log_request_line("NOT-JSON")
                    self.answer(200, NOT_JSON_PAGE, content_type="text/html")
                    return True
                if first_read and ARGS.bad_answer == "order-cut":
                    self.log_request_line("CUT")
                    self.cut_short = True
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
                if ARGS.lose_finalize_answer:
                    # Taken, then lost on the way back: the client cannot know which.
                    self.log_request_line("LOST")
                    self.close_connection = True
                    return True
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
        turns before it is valid. Challenge types the client does not speak come first, unless
        --dns01-only (or --dns01-only-for-wildcards and a wildcard's)."""
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
        identifier = authorization_identifier(n)
        dns01_only = ARGS.dns01_only or \
            (ARGS.dns01_only_for_wildcards and identifier.get("wildcard", False))
        challenges = [] if dns01_only else [
            {"type": "dns-account-01", "status": "pending",
             "url": f"{BASE}/other-chall/{n}", "token": f"other{n:0>40}"},
            {"type": "dns-persist-01", "status": "pending",
             "url": f"{BASE}/other-chall/{n}", "issuer-domain-names": ["stand-in.test"]}]
        challenges.append(dns01)
        if ARGS.bad_answer == "challenge-not-object":
            challenges.insert(0, 1)  # RFC 8555 §7.1.4: "array of objects"
        return {"status": status, "expires": "2099-01-01T00:00:00Z",
                **identifier, "challenges": challenges}, headers
