#!/usr/bin/env python3
"""Prints the Markdown table of a bench/run.sh results file: our server and PostGraphile side by side, per
connection count and shape, with the ratio of throughputs, and q4 as bare SQL beside them.

usage: summarize.py bench/results-YYYY-MM-DD-SCALE.txt"""
import re
import sys

SHAPES = {
    "q1": "q1 tree page: 20 bases → all chapters → 10 members, totals",
    "q2": 'q2 search "nguyen" + totalCount',
    "q2b": 'q2b search "tran thi hoa", no count',
    "q2c": 'q2c search "hoa", no count',
    "q2d": 'q2d search "nguyen van an" + totalCount',
    "q3": "q3 awards of a year + recipients",
    "q4": "q4 member by id + ancestry + awards",
    "q5": "q5 a base official's members",
    "q6": "q6 update a member's phone",
}


def load(path):
    rows, notes = {}, []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        m = re.match(r"^(ours|peer|bare-sql)/(\S+) conns=(\d+) (.*)$", line)
        if m:
            fields = dict(kv.split("=", 1) for kv in m[4].split() if "=" in kv)
            if "FAILED" in m[4]:
                fields = {"failed": "1"}
            rows[(m[1], m[2], int(m[3]))] = fields
        elif line.startswith("# hoi-ccb vs PostGraphile") or line.startswith("# data:") \
                or line.startswith("# repo ") or line.startswith("# PostgreSQL ") or "DIFFERS" in line \
                or line.startswith("# WARNING") or line.startswith("# machine quiet"):
            notes.append(line.lstrip("# "))
    return rows, notes


def num(r, key, fmt):
    if r is None:
        return "–"
    if "failed" in r:
        return "FAILED"
    if key not in r:
        return "–"
    if key.startswith("p") and key.endswith("_ms") and r.get("requests") == "0":
        return "–"  # no request completed: wrk's percentiles are zeros
    return fmt.format(float(r[key]))


def pair(o, p, key, fmt):
    return f"{num(o, key, fmt)} / {num(p, key, fmt)}"


def ratio(o, p, key, invert=False):
    try:
        a, b = float(o[key]), float(p[key])
        return f"{(b / a if invert else a / b):.2f}×"
    except (TypeError, KeyError, ValueError, ZeroDivisionError):
        return "–"


def main():
    rows, notes = load(sys.argv[1])
    for n in notes:
        print(f"- {n}")
    print()
    print("Each cell is ours / PostGraphile. ratio: our req/s divided by PostGraphile's (above 1: we are faster). "
          "errors: non-2xx responses plus GraphQL errors (plus socket errors, if any, after a +). SQL/req: "
          "pg_stat_statements calls per request on the database, by the server's role (ours also by our "
          "`db_statements_total`, in brackets), per request sent. CPU: the server process's user+system time per request sent. "
          "RSS: the largest resident set sampled every 0.2 s during the run.")
    conns = sorted({c for (_, _, c) in rows})
    for c in conns:
        print()
        print(f"### {c} connection{'s' if c != 1 else ''}")
        print()
        print("| shape | req/s | ratio | p50 ms | p95 ms | p99 ms | errors | SQL/req | CPU ms/req | peak RSS MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for shape, title in SHAPES.items():
            o, p = rows.get(("ours", shape, c)), rows.get(("peer", shape, c))
            b = rows.get(("bare-sql", "q4", c)) if shape == "q4" else None

            def errors(r):
                if r is None:
                    return "–"
                if "failed" in r:
                    return "FAILED"
                e, s = r.get("errors", "?"), r.get("socket_errors", "0")
                return e if s == "0" else f"{e}+{s}"

            if o is not None or p is not None:
                sql_ours = num(o, "sql_per_req", "{:.2f}")
                if o and "counter_stmts_per_req" in o:
                    sql_ours += f" ({float(o['counter_stmts_per_req']):.2f})"
                print(f"| {title} | {pair(o, p, 'rps', '{:,.0f}')} | {ratio(o, p, 'rps')} "
                      f"| {pair(o, p, 'p50_ms', '{:.1f}')} | {pair(o, p, 'p95_ms', '{:.1f}')} | {pair(o, p, 'p99_ms', '{:.1f}')} "
                      f"| {errors(o)} / {errors(p)} | {sql_ours} / {num(p, 'sql_per_req', '{:.2f}')} "
                      f"| {pair(o, p, 'cpu_ms_per_req', '{:.2f}')} | {pair(o, p, 'peak_rss_mib', '{:.0f}')} |")
            if b is not None:
                print(f"| q4 as bare SQL: one prepared statement building the same JSON (pgbench) "
                      f"| {num(b, 'rps', '{:,.0f}')} | – | {num(b, 'p50_ms', '{:.2f}')} | {num(b, 'p95_ms', '{:.2f}')} "
                      f"| {num(b, 'p99_ms', '{:.2f}')} | {b.get('errors', '–')} | {num(b, 'sql_per_req', '{:.2f}')} | – | – |")


if __name__ == "__main__":
    main()
