"""schemathesis hooks for tests/contract/schemathesis_test (loaded through SCHEMATHESIS_HOOKS).

They change no response, and of the requests only this:
- a `profile` for POST /domains that has the form of a profile name (so the document allows it)
  but is not one the test stack's CA offers becomes one it offers. Which profiles a CA offers is
  the CA's, not the document's: a schema-valid name the CA does not list is refused with 400 by
  contract (README "Certificate profiles"), so positive_data_acceptance would count every random
  name; with this it still holds every other member of the body to the document. Refused
  profiles have their own tests (tests/e2e/profile_test.cpp);
- after a domain is registered, its verification token is published in the test stack's DNS
  (pebble-challtestsrv's API, SANDBOX_DNS_API), as the customer would; without it every verify
  answers 424 and the chain register -> verify -> issue-certificate -> get stops at its second step;
- every answer's status is counted per operation and written to DNSH_CONTRACT_STATUSES at exit,
  so that the test can tell the chain was really followed to its end.
"""

import atexit
import collections
import json
import os
import re
import ssl
import urllib.request

import schemathesis

SANDBOX_DNS_API = os.environ.get("SANDBOX_DNS_API", "")
STATUSES_FILE = os.environ.get("DNSH_CONTRACT_STATUSES", "")
statuses = collections.Counter()
PROFILE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def offered_profiles():
    """The names in the test stack's CA directory's meta.profiles (draft-ietf-acme-profiles)."""
    directory = os.environ.get("ACME_DIRECTORY", "")
    if not directory:
        return []
    context = ssl.create_default_context(cafile=os.environ.get("ACME_CA_BUNDLE") or None)
    with urllib.request.urlopen(directory, timeout=5, context=context) as answer:
        return sorted(json.load(answer).get("meta", {}).get("profiles", {}))


OFFERED_PROFILES = offered_profiles()


@schemathesis.hook
def map_case(context, case):
    if case.method.upper() != "POST" or case.operation.path != "/domains" or not OFFERED_PROFILES:
        return case
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("profile"), str) and \
            PROFILE_NAME.match(body["profile"]) and body["profile"] not in OFFERED_PROFILES:
        case.body = dict(body, profile=OFFERED_PROFILES[0])
    return case


@schemathesis.hook
def after_call(context, case, response):
    statuses[f"{case.method.upper()} {case.operation.path} {response.status_code}"] += 1
    if not SANDBOX_DNS_API or case.method.upper() != "POST" or case.operation.path != "/domains":
        return
    if response.status_code != 201:
        return
    registration = json.loads(response.content)
    record = json.dumps({"host": registration["challenge_domain"] + ".",
                         "value": registration["verification_token"]}).encode()
    request = urllib.request.Request(SANDBOX_DNS_API + "/set-txt", data=record, method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        answer.read()


@atexit.register
def write_statuses():
    if STATUSES_FILE:
        with open(STATUSES_FILE, "w") as out:
            json.dump(dict(sorted(statuses.items())), out, indent=1)
