#!/usr/bin/env python3
"""One user's latency of name searches drawn from the registry itself: COUNT names of WORDS words, picked at
random (but the same each run) among the members of the database, each searched as the search box sends it
(`members(filter: {search}, first: 20)` with chapter and base, no count), one request at a time; the fastest
of two tries of each is kept. Prints p50/p90/p95/max and the slowest names.

usage: search_sample.py --url http://127.0.0.1:8090 --token JWT --database-url postgres://… [--count 150] [--words 3]"""
import argparse
import json
import pathlib
import subprocess
import time
import urllib.request

HERE = pathlib.Path(__file__).parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--words", type=int, default=3)
    a = ap.parse_args()

    spaces = a.words - 1
    names = subprocess.run(
        ["psql", a.database_url, "-Atc",
         "SELECT search_name FROM members WHERE length(search_name) - length(replace(search_name, ' ', '')) = "
         f"{spaces} ORDER BY md5(id::text) LIMIT {a.count}"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    names = [n for n in names if n.strip()]
    if not names:
        raise SystemExit(f"no member's name has {a.words} words")
    lines = (HERE / "queries/ours/q2_search_page.graphql").read_text(encoding="utf-8").splitlines()
    query = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    timings = []
    for name in names:
        body = json.dumps({"query": query, "variables": {"q": name, "first": 20}}).encode()
        best = None
        for _ in range(2):
            req = urllib.request.Request(a.url + "/graphql", data=body, headers={
                "content-type": "application/json", "authorization": "Bearer " + a.token})
            start = time.perf_counter()
            answer = urllib.request.urlopen(req).read()
            took = (time.perf_counter() - start) * 1000
            if b'"errors"' in answer:
                raise SystemExit(f"{name}: {answer[:300]!r}")
            best = took if best is None else min(best, took)
        timings.append((best, name))
    timings.sort()
    ms = [t for t, _ in timings]
    at = lambda share: ms[min(len(ms) - 1, int(share * len(ms)))]
    print(f"{len(ms)} searches of {a.words} words: p50 {at(0.5):.1f} p90 {at(0.9):.1f} p95 {at(0.95):.1f} "
          f"max {ms[-1]:.1f} ms")
    print("slowest: " + ", ".join(f"{n} {t:.0f}" for t, n in timings[-8:]))


if __name__ == "__main__":
    main()
