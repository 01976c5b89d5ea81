#!/usr/bin/env bash
# bench/latency.sh [--smoke] [REPEAT=200]
# One request at a time: seeds database hoi_latency with the demo set, starts target/release/hoi-ccb on
# 127.0.0.1:8091, and runs bench/latency.py (p50/p95/p99 at 1 connection and SQL statements per request for
# the read shapes q1-q5). --smoke sends each shape a few times and only checks that every answer is free of
# errors (no timing is judged); it is what `bench/run.sh --smoke` runs, in well under 2 minutes.
# Needs: target/release/hoi-ccb, PostgreSQL on 127.0.0.1:5432 (trust for postgres), psql, python3, curl.
# Every wait loop has a count and the run an outer timeout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
REPEAT=200
if [ "${1:-}" = --smoke ]; then REPEAT=5; shift; fi
REPEAT=${1:-$REPEAT}
BIN=$ROOT/target/release/hoi-ccb
PG=postgres://postgres@127.0.0.1:5432
export DATABASE_URL=$PG/hoi_latency
export JWT_SECRET='hoi-ccb-bench-secret-NOT-FOR-PRODUCTION!'   # 40 chars, bench only
export BIND_ADDR=127.0.0.1:8091
export RUST_LOG=${RUST_LOG:-warn}
URL=http://$BIND_ADDR
WORK=$(mktemp -d /tmp/hoi-latency.XXXXXX)
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release first" >&2; exit 1; }
for c in psql python3 curl timeout; do command -v $c >/dev/null || { echo "missing $c" >&2; exit 1; }; done
if curl -s -o /dev/null --max-time 2 "$URL/healthz"; then echo "something already answers on $URL; stop it first" >&2; exit 1; fi

echo "# hoi-ccb latency $(date -u +%FT%TZ) cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) commit=$(git log -1 --format=%h 2>/dev/null || echo ?) repeat=$REPEAT"
psql "$PG/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS hoi_latency WITH (FORCE)" -c "CREATE DATABASE hoi_latency"
timeout 600 "$BIN" seed-demo > "$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log"; exit 1; }
psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null
"$BIN" serve > "$WORK/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS hoi_latency WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
ready=0
for _ in $(seq 1 120); do
  if curl -sf -o /dev/null "$URL/readyz"; then ready=1; break; fi
  kill -0 "$SPID" 2>/dev/null || break
  sleep 0.5
done
[ $ready = 1 ] || { echo "server did not become ready" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
python3 bench/queries/make_bodies.py "$WORK/bodies" >/dev/null
ADMIN=$(python3 bench/mint_jwt.py ADMIN)
BASE17=$(python3 bench/mint_jwt.py BASE_OFFICIAL Base:17)
timeout 900 python3 bench/latency.py "$URL" "$WORK/bodies" "$ADMIN" "$BASE17" "$REPEAT"
