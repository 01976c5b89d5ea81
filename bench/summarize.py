#!/usr/bin/env python3
"""Reads the raw output of bench/run.sh (WITH_PGL=1) and prints a markdown table, ours beside PostGraphile.
usage: summarize.py bench/results-YYYY-MM-DD.txt"""
import re, sys

rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^(hoi-ccb|postgraphile)/(\S+) (conns=.*)$", line.strip())
    if m:
        rows[(m[1], m[2])] = dict(kv.split("=", 1) for kv in m[3].split())

# our shape -> the PostGraphile shape it is compared with
shapes = [("q1_tree_page", "q1_tree_page"), ("q1b_tree_page_full", "q1_tree_page"),
          ("q2_member_search", "q2_member_search"), ("q3_awards_by_year", "q3_awards_by_year"),
          ("q4_member_by_id", "q4_member_by_id"), ("q5_restricted_base", "q5_restricted_base"),
          ("q6_update_phone", "q6_update_phone")]

def g(peer, shape, key, fmt="{}"):
    r = rows.get((peer, shape))
    if not r or key not in r:
        return "n/a"
    return fmt.format(float(r[key])) if fmt != "{}" else r[key]

def cpu_ms(peer, shape):
    r = rows.get((peer, shape))
    if not r or "server_cpu_s" not in r:
        return "n/a"
    return f"{1000 * float(r['server_cpu_s']) / max(int(r['requests']), 1):.2f}"

print("| shape | rps ours | rps PGL | p50 ms ours | p50 ms PGL | p99 ms ours | p99 ms PGL "
      "| SQL/req ours (pg_stat_statements / own counter) | SQL/req PGL | CPU s ours | CPU s PGL "
      "| CPU ms/req ours | CPU ms/req PGL | peak RSS MiB ours | peak RSS MiB PGL | errors ours | errors PGL |")
print("|---" * 17 + "|")
for ours, pgl in shapes:
    o, p = "hoi-ccb", "postgraphile"
    print(f"| {ours}{'' if ours == pgl else ' (vs PGL ' + pgl + ')'} "
          f"| {g(o, ours, 'rps', '{:.0f}')} | {g(p, pgl, 'rps', '{:.0f}')} "
          f"| {g(o, ours, 'p50_ms', '{:.1f}')} | {g(p, pgl, 'p50_ms', '{:.1f}')} "
          f"| {g(o, ours, 'p99_ms', '{:.1f}')} | {g(p, pgl, 'p99_ms', '{:.1f}')} "
          f"| {g(o, ours, 'sql_per_req')} / {g(o, ours, 'metrics_stmts_per_req')} | {g(p, pgl, 'sql_per_req')} "
          f"| {g(o, ours, 'server_cpu_s')} | {g(p, pgl, 'server_cpu_s')} "
          f"| {cpu_ms(o, ours)} | {cpu_ms(p, pgl)} "
          f"| {g(o, ours, 'server_max_rss_mib')} | {g(p, pgl, 'server_max_rss_mib')} "
          f"| {g(o, ours, 'gql_or_http_errors')} | {g(p, pgl, 'gql_or_http_errors')} |")
