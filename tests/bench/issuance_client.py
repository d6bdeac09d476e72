#!/usr/bin/env python3
"""One API client of tests/bench/issuance: for every CLIENTS-th domain of LABEL, starting at
CLIENT+1, it registers the domain, publishes its verification token, verifies it, removes the
token, calls issue-certificate and (publish=1) publishes the value to validate at once. Kept-alive
connections to the API and to challtestsrv's management API, so the figures are the service's
and not process start-ups.

Prints per domain, publish=1: "name placed_at visible_at issue_seconds begun_at" (epoch seconds
of this machine's clock: issue-certificate answered, challtestsrv accepted the value;
issue_seconds: issue-certificate as this client saw it; begun_at: POST /domains sent);
publish=0: "name txt_value". A failed call is reported on stderr and its domain skipped.

With START_AT (epoch seconds) the first call waits until then: the clients' interpreters
start and import first, and the clock starts with every client ready, as acmez-bench's starts
once its process is up.

    issuance_client.py BASE_URL SANDBOX_DNS_API LABEL CLIENT CLIENTS N PUBLISH [START_AT]
"""
import http.client
import json
import sys
import time
import urllib.parse


class Endpoint:
    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.connection = None

    def post(self, path, body, content_type="application/json"):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=20)
            try:
                self.connection.request("POST", path, body=body,
                                        headers={"Content-Type": content_type})
                reply = self.connection.getresponse()
                data = reply.read()
                if reply.will_close:
                    self.connection.close()
                    self.connection = None
                return reply.status, data
            except (http.client.HTTPException, ConnectionError):
                # A kept-alive connection the server closed: once more on a fresh one.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise


def main():
    base_url, dns_api, label = sys.argv[1:4]
    client, clients, count, publish = (int(a) for a in sys.argv[4:8])
    if len(sys.argv) > 8:
        time.sleep(max(0.0, float(sys.argv[8]) - time.time()))
    api, dns = Endpoint(base_url), Endpoint(dns_api)

    def set_txt(name, value):
        status, _ = dns.post("/set-txt", json.dumps({"host": name + ".", "value": value}))
        return status == 200

    def clear_txt(name):
        dns.post("/clear-txt", json.dumps({"host": name + "."}))

    def one(name):
        challenge = "_acme-challenge." + name
        begun = time.time()
        status, body = api.post("/domains", json.dumps({"domain_name": name}))
        if status != 201:
            print(f"{name}: POST /domains answered {status}", file=sys.stderr)
            return
        domain = json.loads(body)
        set_txt(challenge, domain["verification_token"])
        status, body = api.post(f"/domains/{domain['id']}/verify", "")
        if status != 200:
            print(f"{name}: verify answered {status} {body[:200]!r}", file=sys.stderr)
            return
        clear_txt(challenge)
        asked = time.time()
        status, body = api.post(f"/domains/{domain['id']}/issue-certificate", "")
        placed = time.time()
        if status != 202:
            print(f"{name}: issue-certificate answered {status} {body[:200]!r}", file=sys.stderr)
            return
        value = json.loads(body)["expected_txt_value"]
        if publish:
            set_txt(challenge, value)
            print(f"{name} {placed:.6f} {time.time():.6f} {placed - asked:.6f} {begun:.6f}", flush=True)
        else:
            print(f"{name} {value}", flush=True)

    # A domain whose call fails (a timeout included) is reported and skipped.
    for i in range(client + 1, count + 1, clients):
        name = f"{label}-{i}.bench.example"
        try:
            one(name)
        except (OSError, http.client.HTTPException) as error:
            print(f"{name}: {type(error).__name__}: {error}", file=sys.stderr)


if __name__ == "__main__":
    main()
