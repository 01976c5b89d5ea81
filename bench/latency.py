#!/usr/bin/env python3
"""Single-connection latency of each shape: one request at a time over one keep-alive connection.

bench/latency.py URL BODIES_DIR ADMIN_TOKEN BASE17_TOKEN [REPEAT=200]

For each shape (the bodies of bench/queries/make_bodies.py) it sends 20 warm-up requests, then REPEAT measured
ones, and prints p50/p95/p99 in milliseconds and the SQL statements per request that the server counted
(`db_statements_total` on /metrics, before and after; the account check included, no BEGIN/COMMIT). q4 asks for
a different member each time (ids 1..55,700, deterministic). q6 (a write) is left out: it changes the data.
Standard library only; every request has a timeout; any GraphQL error stops the run.
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse

SHAPES = [
    ("q1_tree_page", "admin"),
    ("q1b_tree_page_full", "admin"),
    ("q2_member_search", "admin"),
    ("q3_awards_by_year", "admin"),
    ("q4_member_by_id", "admin"),
    ("q5_restricted_members", "base17"),
]


def gid(kind, n):
    return base64.urlsafe_b64encode(f"{kind}:{n}".encode()).rstrip(b"=").decode()


def statements(conn):
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith("db_statements_total "):
            return float(line.split()[1])
    raise SystemExit("db_statements_total missing from /metrics")


def main():
    url, bodies, admin, base17 = sys.argv[1:5]
    repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    tokens = {"admin": admin, "base17": base17}
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    print(f"# latency at 1 connection, {repeat} requests per shape after 20 warm-up, ms")
    print("shape p50 p95 p99 stmts_per_req")
    for name, who in SHAPES:
        template = open(f"{bodies}/{name}.json").read()
        headers = {"content-type": "application/json", "authorization": "Bearer " + tokens[who]}

        def body(i):
            if "__MEMBER_ID__" in template:
                return template.replace("__MEMBER_ID__", gid("Member", 1 + (i * 7919) % 55700))
            return template

        for i in range(20):
            conn.request("POST", "/graphql", body(i), headers)
            resp = json.loads(conn.getresponse().read())
            if "errors" in resp:
                raise SystemExit(f"{name}: {json.dumps(resp)[:500]}")
        before = statements(conn)
        times = []
        for i in range(repeat):
            b = body(1000 + i)
            t0 = time.perf_counter()
            conn.request("POST", "/graphql", b, headers)
            raw = conn.getresponse().read()
            times.append((time.perf_counter() - t0) * 1000)
            if b'"errors"' in raw:
                raise SystemExit(f"{name}: {raw[:500]!r}")
        per_req = (statements(conn) - before) / repeat
        times.sort()
        pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        print(f"{name} {pick(0.5):.2f} {pick(0.95):.2f} {pick(0.99):.2f} {per_req:.2f}", flush=True)


if __name__ == "__main__":
    main()
