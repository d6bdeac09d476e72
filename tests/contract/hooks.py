"""schemathesis hooks for tests/contract/schemathesis_test (loaded through SCHEMATHESIS_HOOKS).

They change no request and no response:
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
import urllib.request

import schemathesis

SANDBOX_DNS_API = os.environ.get("SANDBOX_DNS_API", "")
STATUSES_FILE = os.environ.get("DNSH_CONTRACT_STATUSES", "")
statuses = collections.Counter()


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
