"""The soak driver of .ci/soak.sh (standard library only): CLIENTS threads, each on its own keep-alive HTTP
connection, send mixed reads (the tree page, a name search, a member by id) and writes (`updateMember` of a
phone with `expectedVersion`, re-read and retried on CONFLICT) for DURATION seconds, while the server's VmRSS
is sampled. Every acknowledged write is recorded (member id, version, phone).

It then checks, and exits 1 if any fails:
- no error at all, other than the CONFLICTs that stale versions are meant to get;
- every acknowledged write is present: each member's final phone and version are those of its last
  acknowledged write, and versions rose by exactly the number of acknowledged writes;
- the audit history grew by exactly one event per acknowledged write, for each member written;
- "flat memory": the server's RSS at the end is within RSS_BOUND of its RSS after warm-up.

Usage: soak.py API_URL SERVER_PID [--clients 16] [--duration 60] [--warmup 10]
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

TREE_PAGE = """query Tree { provinces(first: 5) { totalCount nodes { id name bases(first: 10) { totalCount
  nodes { id name chapters(first: 10) { totalCount nodes { id name } } } } } } }"""
SEARCH = """query Search($q: String!) { members(filter: { search: $q }, first: 20) { totalCount
  nodes { id fullName chapter { name } } } }"""
MEMBER = """query Member($id: ID!) { node(id: $id) { ... on Member { id fullName phone version
  chapter { id name } base { id name } } } }"""
VERSION = """query Version($id: ID!) { node(id: $id) { ... on Member { version } } }"""
UPDATE = """mutation Update($input: UpdateMemberInput!) { updateMember(input: $input) { member { id version phone } } }"""
FINAL = """query Final($id: ID!) { node(id: $id) { ... on Member { phone version history(first: 1) { totalCount } } } }"""
SEARCHES = ["nguyen", "tran thi", "nguyen van", "le", "pham", "hoang", "vu", "dang", "bui", "do", "ngo", "duong"]
# The server's RSS at the end may exceed its RSS after warm-up by at most this much.
RSS_BOUND_RATIO = 1.25
RSS_BOUND_SLACK_KIB = 32 * 1024
MAX_CONFLICT_RETRIES = 20


class Client:
    """One keep-alive connection; a request that fails at the transport level counts as an error."""

    def __init__(self, url, token):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parsed.hostname, parsed.port, parsed.path
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        try:
            self.conn.request("POST", self.path, body, headers)
            response = self.conn.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            raise
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {"errors": [{"message": f"not JSON: {raw[:200]!r}", "extensions": {"code": "NOT_JSON"}}]}
        return status, payload


def codes(payload):
    return [(e.get("extensions") or {}).get("code") for e in payload.get("errors") or []]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.latencies = {}
        self.errors = []
        self.conflicts = 0
        self.acked = []  # (member id, version, phone)

    def record(self, op, seconds):
        with self.lock:
            self.counts[op] = self.counts.get(op, 0) + 1
            self.latencies.setdefault(op, []).append(seconds)

    def error(self, what):
        with self.lock:
            self.errors.append(what)


def read_status_kib(pid):
    """VmRSS, RssAnon (heap) and RssFile (mapped files, e.g. SQLite's shared memory) in KiB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
    return values


def read_rss_kib(pid):
    return read_status_kib(pid)["VmRSS"]


def worker(index, url, token, members, deadline, stats):
    rng = random.Random(index)
    client = Client(url, token)
    sequence = 0
    while time.monotonic() < deadline:
        roll = rng.random()
        started = time.monotonic()
        try:
            if roll < 0.15:
                op, (status, payload) = "tree", client.call(TREE_PAGE)
            elif roll < 0.40:
                op, (status, payload) = "search", client.call(SEARCH, {"q": rng.choice(SEARCHES)})
            elif roll < 0.70:
                op, (status, payload) = "member", client.call(MEMBER, {"id": rng.choice(members)})
            else:
                op = "write"
                sequence += 1
                status, payload = write(client, rng.choice(members), f"09{index:02d}{sequence:06d}", stats)
        except (OSError, http.client.HTTPException) as exc:
            stats.error(f"transport: {exc!r}")
            continue
        stats.record(op, time.monotonic() - started)
        if status != 200 or payload.get("errors"):
            stats.error(f"{op}: HTTP {status} {json.dumps(payload)[:300]}")
        elif op == "member" and not payload["data"]["node"]:
            stats.error("member: a member read as null")


def write(client, member_id, phone, stats):
    """Read the version, update with it; on CONFLICT read again and retry. Returns the last response."""
    for _ in range(MAX_CONFLICT_RETRIES):
        status, payload = client.call(VERSION, {"id": member_id})
        if status != 200 or payload.get("errors"):
            return status, payload
        version = payload["data"]["node"]["version"]
        status, payload = client.call(
            UPDATE, {"input": {"id": member_id, "expectedVersion": version, "phone": phone}}
        )
        if status == 200 and codes(payload) == ["CONFLICT"]:
            with stats.lock:
                stats.conflicts += 1
            continue
        if status == 200 and not payload.get("errors"):
            member = payload["data"]["updateMember"]["member"]
            if member["phone"] != phone or member["version"] != version + 1:
                stats.error(f"write: sent {phone} at version {version}, acknowledged {member}")
            with stats.lock:
                stats.acked.append((member_id, member["version"], member["phone"]))
        return status, payload
    return 200, {"errors": [{"message": "still CONFLICT after retries", "extensions": {"code": "RETRIES"}}]}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("pid", type=int)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--members", type=int, default=48)
    args = parser.parse_args()

    setup = Client(args.url, None)
    status, payload = setup.call('mutation { login(username: "admin", password: "admin-demo-2024") { token } }')
    if status != 200 or payload.get("errors"):
        sys.exit(f"login failed: HTTP {status} {payload}")
    setup.token = payload["data"]["login"]["token"]
    # The members written: a few dozen, so 16 clients collide on versions now and then.
    status, payload = setup.call(
        "query($n: Int!) { members(first: $n) { nodes { id } } }", {"n": args.members}
    )
    members = [node["id"] for node in payload["data"]["members"]["nodes"]]
    if len(members) != args.members:
        sys.exit(f"wanted {args.members} members, got {payload}")
    before = {}
    for member_id in members:
        status, payload = setup.call(FINAL, {"id": member_id})
        node = payload["data"]["node"]
        before[member_id] = (node["version"], node["history"]["totalCount"])

    stats = Stats()
    started = time.monotonic()
    deadline = started + args.duration
    threads = [
        threading.Thread(target=worker, args=(i, args.url, setup.token, members, deadline, stats), daemon=True)
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    samples = []  # (seconds since start, VmRSS KiB)
    rss_warm = None
    while time.monotonic() < deadline:
        time.sleep(1.0)
        elapsed = time.monotonic() - started
        samples.append((elapsed, read_rss_kib(args.pid)))
        if rss_warm is None and elapsed >= args.warmup:
            rss_warm = samples[-1][1]
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        stats.error("a client did not finish within 120 s of the deadline")
    elapsed = time.monotonic() - started
    status_end = read_status_kib(args.pid)
    rss_end = status_end["VmRSS"]

    failures = []
    # Every acknowledged write present: the last one per member is what the member reads now.
    last = {}
    acked_per_member = {}
    for member_id, version, phone in stats.acked:
        acked_per_member[member_id] = acked_per_member.get(member_id, 0) + 1
        if member_id not in last or version > last[member_id][0]:
            last[member_id] = (version, phone)
    for member_id in members:
        status, payload = setup.call(FINAL, {"id": member_id})
        node = payload["data"]["node"]
        version0, history0 = before[member_id]
        writes = acked_per_member.get(member_id, 0)
        if member_id in last and (node["version"], node["phone"]) != last[member_id]:
            failures.append(f"{member_id}: reads {node['version']}/{node['phone']}, last ack {last[member_id]}")
        if node["version"] != version0 + writes:
            failures.append(f"{member_id}: version {version0} -> {node['version']} after {writes} acked writes")
        if node["history"]["totalCount"] != history0 + writes:
            failures.append(
                f"{member_id}: history {history0} -> {node['history']['totalCount']} after {writes} acked writes"
            )
    versions = [(m, v) for m, v, _ in stats.acked]
    if len(set(versions)) != len(versions):
        failures.append("two writes were acknowledged with the same member version")

    total = sum(stats.counts.values())
    print(f"{args.clients} clients, {elapsed:.1f} s: {total} operations ({total / elapsed:.0f}/s)")
    for op in sorted(stats.counts):
        lat = stats.latencies[op]
        print(
            f"  {op:7} {stats.counts[op]:6}  p50 {percentile(lat, 0.5) * 1000:7.1f} ms"
            f"  p99 {percentile(lat, 0.99) * 1000:7.1f} ms"
        )
    print(f"  acknowledged writes: {len(stats.acked)} on {len(last)} members; CONFLICTs retried: {stats.conflicts}")
    print(f"  errors: {len(stats.errors)}")
    for error in stats.errors[:20]:
        print(f"    {error}")
    if stats.errors:
        failures.append(f"{len(stats.errors)} errors")
    if not stats.acked:
        failures.append("no write was acknowledged")
    bound = rss_warm * RSS_BOUND_RATIO + RSS_BOUND_SLACK_KIB if rss_warm else 0
    trace = " ".join(f"{int(t)}s:{kib // 1024}" for t, kib in samples[:: max(1, len(samples) // 12)])
    print(f"  server VmRSS MiB over time: {trace}")
    print(
        f"  VmRSS after warm-up {rss_warm // 1024 if rss_warm else '?'} MiB, at the end {rss_end // 1024} MiB,"
        f" peak {max(k for _, k in samples) // 1024} MiB; bound {bound / 1024:.0f} MiB"
        f" (x{RSS_BOUND_RATIO} + {RSS_BOUND_SLACK_KIB // 1024} MiB)"
    )
    print(
        f"  at the end: RssAnon {status_end.get('RssAnon', 0) // 1024} MiB,"
        f" RssFile {status_end.get('RssFile', 0) // 1024} MiB"
    )
    if rss_warm is None:
        failures.append("the run ended before warm-up")
    elif rss_end > bound:
        failures.append(f"memory not flat: {rss_end} KiB at the end > bound {bound:.0f} KiB")
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        sys.exit(1)
    print(f"soak: {len(stats.acked)} acknowledged writes all present, 0 errors, memory flat")


if __name__ == "__main__":
    main()
