#!/usr/bin/env python3
"""Where the API round of tests/bench/issuance spent its time, per certificate and in the
scheduler, from what the round left behind:

  LIST       the clients' lines: "name placed_at visible_at issue_seconds begun_at" (epoch s)
  DB         "name domain_id active_at status" (active_at: domains.updated_at, epoch s)
  SCHEDULER  the scheduler's log (LOG_LEVEL=debug: every step, polls included, and every
             request to the CA with its duration)

Per certificate (p50/p95 ms): register+verify (POST /domains, the token published, verify),
issue-certificate as the client saw it, publish (set-txt), TXT visible -> challenge answered
(waiting for the scheduler to look, its DNS check, the authorization read and the answer),
answered -> active (Pebble's validation, authorization polls, finalize, order polls, download,
store). Then the scheduler's steps and its requests to the CA, count x mean duration.

    issuance_phases.py LIST DB SCHEDULER
"""
import json
import sys
from collections import defaultdict
from datetime import datetime


def epoch(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def p50_p95(values):
    if not values:
        return "-"
    values = sorted(values)
    rank = lambda p: values[max(0, -(-int(p * len(values) * 1000) // 1000) - 1)]
    return f"{rank(0.5) * 1000:.0f}/{rank(0.95) * 1000:.0f}"


def tally(counts, totals):
    return ", ".join(f"{kind} {counts[kind]} x {totals[kind] / counts[kind]:.1f} ms"
                     for kind in sorted(counts))


def main():
    list_file, db_file, scheduler_log = sys.argv[1:4]
    clients = {}
    for line in open(list_file):
        name, placed, visible, issue_s, begun = line.split()[:5]
        clients[name] = (float(begun), float(placed), float(visible), float(issue_s))
    domains = {}
    for line in open(db_file):
        name, domain_id, active_at, status = line.split()
        if status == "active" and name in clients:
            domains[domain_id] = (name, float(active_at))

    answered = {}
    step_count, step_ms = defaultdict(int), defaultdict(float)
    request_count, request_ms = defaultdict(int), defaultdict(float)
    for line in open(scheduler_log):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "step" and entry.get("domain_id") in domains:
            step_count[entry["step"]] += 1
            step_ms[entry["step"]] += entry["duration_ms"]
            if entry["step"] == "answered_challenges":
                answered[entry["domain_id"]] = epoch(entry["ts"])
        elif entry.get("msg") == "acme request":
            kind = entry["path"].lstrip("/").split("/")[0]
            request_count[kind] += 1
            request_ms[kind] += entry["duration_ms"]

    phases = defaultdict(list)
    for domain_id, (name, active_at) in domains.items():
        begun, placed, visible, issue_s = clients[name]
        phases["register+verify"].append(placed - issue_s - begun)
        phases["issue-certificate"].append(issue_s)
        phases["publish"].append(visible - placed)
        if domain_id in answered:
            phases["visible->answered"].append(answered[domain_id] - visible)
            phases["answered->active"].append(active_at - answered[domain_id])
    print("api phases per certificate, p50/p95 ms: " +
          ", ".join(f"{phase} {p50_p95(values)}" for phase, values in phases.items()))
    print(f"scheduler steps (count x mean, worker time): {tally(step_count, step_ms)}")
    print(f"scheduler requests to the CA (count x mean): {tally(request_count, request_ms)}")


if __name__ == "__main__":
    main()
