#!/usr/bin/env bash
# bench/run.sh [DURATION=10s] [CONNS=16]
# Benchmarks hoi-ccb (release build) on PostgreSQL with the six query shapes of the PostGraphile peer
# (its suite folder, named by SHARED_PGL), using that folder's load_wrk.sh and our bench/gql_post.lua.
#   1. drops and creates database hoi_bench, loads the demo set with `hoi-ccb seed-demo`
#   2. starts `hoi-ccb serve` on 127.0.0.1:8090, waits for /readyz
#   3. mints an ADMIN and a BASE_OFFICIAL (Base 17) token, builds the bodies, checks each once with curl
#   4. per shape: 3 s warm-up (discarded), then DURATION measured with CONNS connections (1 wrk thread)
#   5. stops the server
# env: WITH_PGL=1  afterwards runs the PostGraphile peer too (bench/postgraphile.sh, same DURATION/CONNS)
#      SEED_BIN=path  the binary that runs `seed-demo` (default: the one under test); the server is always
#                     target/release/hoi-ccb
#      SHARED_PGL=dir  the PostGraphile peer's suite folder (load_wrk.sh, run_suite.sh, queries/); it lives
#                      outside this repository, so it has no default (not needed once /tmp/pgl-bench holds a copy)
# Needs: target/release/hoi-ccb, PostgreSQL on 127.0.0.1:5432 (trust for postgres), wrk, python3, curl.
# pg_stat_statements must be preloaded; if it is not, this script loads it (ALTER SYSTEM + one restart).
# Everything is bounded: every wait loop has a count, every wrk run -d, MAX_REQ and an outer timeout.
set -euo pipefail
# --smoke: only checks that everything works (seed, serve, every read shape answers without errors); no timing.
if [ "${1:-}" = --smoke ]; then exec "$(dirname "$0")/latency.sh" --smoke; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DUR=${1:-10s}; CONNS=${2:-16}
BIN=$ROOT/target/release/hoi-ccb
SEED_BIN=${SEED_BIN:-$BIN}
PG=postgres://postgres@127.0.0.1:5432
export DATABASE_URL=$PG/hoi_bench
export JWT_SECRET='hoi-ccb-bench-secret-NOT-FOR-PRODUCTION!'   # 40 chars, bench only
export BIND_ADDR=127.0.0.1:8090
export RUST_LOG=${RUST_LOG:-warn}
URL=http://$BIND_ADDR
SHARED_PGL=${SHARED_PGL:-}
PGL_COPY=/tmp/pgl-bench
WORK=/tmp/hoi-bench
MEMBERS_RANDOM=55700      # q4: random member 1..55700
Q6_MAX_REQ=54000          # q6: members 1..54000 at most (each updated once, expectedVersion 1)
Q6_WARM_START=55001       # q6 warm-up: members 55001..55500 (disjoint from the measured ids)
Q6_VERIFY_ID=55600        # q6 curl check: member 55600

say() { echo "# $*"; }
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release first" >&2; exit 1; }
for c in wrk psql python3 curl timeout; do command -v $c >/dev/null || { echo "missing $c (apt-get install -y wrk postgresql-client curl)" >&2; exit 1; }; done

say "hoi-ccb bench $(date -u +%FT%TZ) host=$(hostname) cores=$(nproc) duration=$DUR conns=$CONNS; repo HEAD now $(git log -1 --format='%h %cI' 2>/dev/null || echo ?)"
say "binary $BIN sha256=$(sha256sum "$BIN" | cut -c1-12) built $(date -u -r "$BIN" +%FT%TZ); work tree: $(git status --porcelain 2>/dev/null | grep -vc '^?? bench/' || true) changed paths besides bench/"

# A quiet machine: wait (at most 10 min) for 30 s in a row with the CPUs under 25 % busy (nothing of ours runs
# yet), then note during the run any compiler, test binary or other busy process that is not ours.
cpu_busy_pct() { # busy % of all CPUs over 5 s
  local a b; a=($(head -1 /proc/stat)); sleep 5; b=($(head -1 /proc/stat))
  python3 -c "import sys; a=list(map(int,sys.argv[1].split())); b=list(map(int,sys.argv[2].split())); d=[y-x for x,y in zip(a,b)]; print(int(100*(1-(d[3]+d[4])/max(sum(d[:8]),1))))" "${a[*]:1}" "${b[*]:1}"; }
quiet=0
for _ in $(seq 1 120); do
  pct=$(cpu_busy_pct)
  if [ "$pct" -lt 25 ]; then quiet=$((quiet+1)); [ $quiet -ge 6 ] && break; else quiet=0; say "machine busy (${pct} % CPU over 5 s); waiting for 30 s of quiet"; fi
done
[ $quiet -ge 6 ] && say "machine quiet for 30 s" || say "WARNING: the machine never got quiet for 30 s in 10 min; numbers below share the CPUs"
watch_others() { # every 2 s, at most 15 min: note compilers (or anything else over 50 % CPU that is not ours)
  for _ in $(seq 1 450); do
    [ -f "$WORK/stop_watch" ] && break
    ps -eo comm=,pcpu= | awk '$1 ~ /^(rustc|cargo|cc1|ld|cc)$/ || ($2 > 50 && $1 !~ /^(hoi-ccb|postgres|wrk|node|ps|awk|python3|curl|psql|bash|sed|grep|sleep|timeout|env|sort|tee)$/) {print $1}' >> "$WORK/others.raw"
    sleep 2
  done; }
# The shared scripts: copy (shared/ may be read-only), then put our lua beside load_wrk.sh.
if [ ! -f "$PGL_COPY/load_wrk.sh" ]; then
  [ -d "$SHARED_PGL" ] || { echo "set SHARED_PGL to the PostGraphile peer's suite folder" >&2; exit 1; }
  rm -rf "$PGL_COPY"; cp -r "$SHARED_PGL" "$PGL_COPY"; chmod -R u+w "$PGL_COPY"
fi
# A server left by an interrupted earlier run (only if that pid is really hoi-ccb).
if [ -f "$WORK/server.pid" ] && grep -q hoi-ccb "/proc/$(cat "$WORK/server.pid")/cmdline" 2>/dev/null; then
  kill "$(cat "$WORK/server.pid")" || true; sleep 2
fi
if curl -s -o /dev/null --max-time 2 "$URL/healthz"; then echo "something already answers on $URL; stop it first" >&2; exit 1; fi
rm -rf "$WORK"; mkdir -p "$WORK/bodies"
touch "$WORK/others.raw"; watch_others & WATCH=$!
trap 'touch "$WORK/stop_watch"' EXIT
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$PGL_COPY/load_wrk.sh" "$WORK/load_wrk.sh"; cp "$ROOT/bench/gql_post.lua" "$WORK/gql_post.lua"
chmod +x "$WORK/load_wrk.sh"

# pg_stat_statements (SQL statements per request), as the shared enable_pg_stat_statements.sh does.
if ! psql "$PG/postgres" -Atc "show shared_preload_libraries" | grep -q pg_stat_statements; then
  say "loading pg_stat_statements: ALTER SYSTEM + restarting the cluster once"
  psql "$PG/postgres" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
  pg_ctlcluster 15 main restart
  for _ in $(seq 1 30); do psql "$PG/postgres" -Atc "select 1" >/dev/null 2>&1 && break; sleep 1; done
fi

# Fresh database, demo data.
psql "$PG/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS hoi_bench WITH (FORCE)" -c "CREATE DATABASE hoi_bench"
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
t0=$(date +%s.%N)
[ "$SEED_BIN" = "$BIN" ] || say "seed-demo by $SEED_BIN (not the binary under test)"
timeout 900 "$SEED_BIN" seed-demo > "$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log"; exit 1; }
say "seed-demo took $(python3 -c "print(round($(date +%s.%N)-$t0,1))") s; $(psql "$DATABASE_URL" -Atc "select 'provinces='||(select count(*) from provinces)||' bases='||(select count(*) from bases)||' chapters='||(select count(*) from chapters)||' members='||(select count(*) from members)||' (active '||(select count(*) from members where status='ACTIVE')||') awards='||(select count(*) from awards)" 2>/dev/null || echo 'counts n/a')"
psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null

# Server.
"$BIN" serve > "$WORK/server.log" 2>&1 &
SPID=$!
echo "$SPID" > "$WORK/server.pid"
stop_server() {
  if kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$SPID" 2>/dev/null || true
  fi
}
trap 'stop_server; touch "$WORK/stop_watch"' EXIT
ready=0
for _ in $(seq 1 120); do
  if curl -sf -o /dev/null "$URL/readyz"; then ready=1; break; fi
  kill -0 "$SPID" 2>/dev/null || break
  sleep 0.5
done
[ $ready = 1 ] || { echo "server did not become ready" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
say "server pid $SPID ready on $URL"

ADMIN=$(python3 "$ROOT/bench/mint_jwt.py" ADMIN)
BASE17=$(python3 "$ROOT/bench/mint_jwt.py" BASE_OFFICIAL Base:17)
python3 "$ROOT/bench/queries/make_bodies.py" "$WORK/bodies" >/dev/null

# One check per body with curl; the response must carry no "errors" key.
gid() { python3 -c "import base64,sys;print(base64.urlsafe_b64encode(sys.argv[1].encode()).rstrip(b'=').decode())" "$1"; }
check() { # name token [member id]
  local name=$1 tok=$2 body="$WORK/bodies/$1.json" resp
  if [ -n "${3:-}" ]; then sed "s/__MEMBER_ID__/$(gid "Member:$3")/" "$body" > "$WORK/check.json"; body="$WORK/check.json"; fi
  resp=$(curl -s --max-time 30 -H 'content-type: application/json' -H "authorization: Bearer $tok" --data @"$body" "$URL/graphql")
  if grep -q '"errors"' <<<"$resp"; then echo "check $name: ERRORS: ${resp:0:600}"; return 1; fi
  echo "check $name ok: ${#resp} bytes: ${resp:0:300}"
}
failed=0
check q1_tree_page "$ADMIN" || failed=1
check q1b_tree_page_full "$ADMIN" || failed=1
check q2_member_search "$ADMIN" || failed=1
check q3_awards_by_year "$ADMIN" || failed=1
check q4_member_by_id "$ADMIN" 12345 || failed=1
check q5_restricted_members "$BASE17" || failed=1
check q6_update_member "$ADMIN" $Q6_VERIFY_ID || failed=1
[ $failed = 0 ] || { echo "a body was refused: not running the load" >&2; exit 1; }
for q in q1_tree_page q1b_tree_page_full; do
python3 - "$WORK/bodies/$q.json" "$URL" "$ADMIN" <<'PY'
import json, sys, urllib.request
body, url, tok = sys.argv[1:]
req = urllib.request.Request(url + "/graphql", data=open(body, "rb").read(),
                             headers={"content-type": "application/json", "authorization": "Bearer " + tok})
d = json.load(urllib.request.urlopen(req, timeout=30))
bases = d["data"]["provinces"]["nodes"][0]["bases"]
ch = [c for b in bases["nodes"] for c in b["chapters"]["nodes"]]
mem = sum(len(c["members"]["nodes"]) for c in ch)
print(f"check {body.rsplit('/', 1)[-1]} shape: bases={len(bases['nodes'])} chapters={len(ch)} "
      f"(all chapters of these bases: {sum(b['chapters']['totalCount'] for b in bases['nodes'])}) members={mem}")
PY
done

metric() { curl -s --max-time 5 "$URL/metrics" | awk '$1=="db_statements_total"{print $2}'; }
WARM=()
run() { # name body [env...]: warm-up (env + WARM overrides), then measured; adds statements/request from /metrics
  local name=$1 body=$WORK/bodies/$2; shift 2
  env "$@" "${WARM[@]}" SERVER_PID= DB="$DATABASE_URL" "$WORK/load_wrk.sh" warmup "$URL/graphql" "$body" 3s "$CONNS" >/dev/null || true
  local s0 s1 line n
  s0=$(metric)
  line=$(env "$@" SERVER_PID=$SPID DB="$DATABASE_URL" "$WORK/load_wrk.sh" "hoi-ccb/$name" "$URL/graphql" "$body" "$DUR" "$CONNS") \
    || { echo "hoi-ccb/$name FAILED"; return 0; }
  s1=$(metric)
  n=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  echo "$line metrics_stmts_per_req=$(python3 -c "print(round(($s1-$s0)/max($n,1),2))")"
}
say "load: 1 wrk thread, $CONNS connections, $DUR each after a 3 s warm-up"
run q1_tree_page        q1_tree_page.json          AUTH_TOKEN="$ADMIN"
run q1b_tree_page_full  q1b_tree_page_full.json    AUTH_TOKEN="$ADMIN"
run q2_member_search    q2_member_search.json      AUTH_TOKEN="$ADMIN"
run q3_awards_by_year   q3_awards_by_year.json     AUTH_TOKEN="$ADMIN"
run q4_member_by_id     q4_member_by_id.json       AUTH_TOKEN="$ADMIN" VARY_ID=$MEMBERS_RANDOM
run q5_restricted_base  q5_restricted_members.json AUTH_TOKEN="$BASE17"
# q6 last: warm-up on members 55001..55500, measured on 1,2,3,... (each once; version 1 on a fresh seed).
WARM=(START_ID=$Q6_WARM_START MAX_REQ=500)
run q6_update_phone     q6_update_member.json      AUTH_TOKEN="$ADMIN" SEQ_ID=1 START_ID=1 MAX_REQ=$Q6_MAX_REQ
say "q6 check: members with version > 1 after the run: $(psql "$DATABASE_URL" -Atc "select count(*)||' (max id '||max(id)||' below the warm-up range: '||count(*) filter (where id < $Q6_WARM_START)||')' from members where version > 1")"
say "server: peak RSS (VmHWM) $(awk '/VmHWM/{print int($2/1024)" MiB"}' /proc/$SPID/status), total CPU $(python3 -c "print(round(sum(map(int, open('/proc/$SPID/stat').read().split(')')[1].split()[11:13]))/$(getconf CLK_TCK),1))") s, errors in log: $(grep -ciE ' (ERROR|WARN) ' "$WORK/server.log" || true)"
stop_server
trap 'touch "$WORK/stop_watch"' EXIT
say "server stopped"

if [ "${WITH_PGL:-0}" = 1 ]; then
  "$ROOT/bench/postgraphile.sh" "$DUR" "$CONNS" || say "PostGraphile run failed (see above)"
fi
touch "$WORK/stop_watch"; wait "$WATCH" 2>/dev/null || true
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg); other busy processes in 2 s samples during the run: $(sort "$WORK/others.raw" | uniq -c | tr -s ' \n' ' ')"
