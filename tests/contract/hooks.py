"""schemathesis hooks for tests/contract/schemathesis_test (loaded through SCHEMATHESIS_HOOKS).

One hook only, and it changes no request and no response: after a domain is registered, it
publishes the domain's verification token in the test stack's DNS (pebble-challtestsrv's API,
SANDBOX_DNS_API), as the customer would. Without it every verify answers 424, and the stateful
phase's chain register -> verify -> issue-certificate -> get stops at its second step.
"""

import json
import os
import urllib.request

import schemathesis

SANDBOX_DNS_API = os.environ.get("SANDBOX_DNS_API", "")


@schemathesis.hook
def after_call(context, case, response):
    if not SANDBOX_DNS_API or case.method.upper() != "POST" or case.path != "/domains":
        return
    if response.status_code != 201:
        return
    registration = json.loads(response.content)
    record = json.dumps({"host": registration["challenge_domain"] + ".",
                         "value": registration["verification_token"]}).encode()
    request = urllib.request.Request(SANDBOX_DNS_API + "/set-txt", data=record, method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        answer.read()
