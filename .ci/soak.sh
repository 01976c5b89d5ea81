#!/usr/bin/env bash
# A short soak against a throw-away server: 16 keep-alive clients for 60 s of mixed reads (tree page, search,
# member by id) and writes (updateMember with expectedVersion, retried on CONFLICT), then .ci/soak.py checks
# zero errors, every acknowledged write present, one audit event per write, and flat server memory.
# SOAK_CLIENTS, SOAK_SECONDS and SOAK_WARMUP_SECONDS override the defaults (16, 60, 10).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

source "$here/server.sh"

echo "== soak: ${SOAK_CLIENTS:-16} clients for ${SOAK_SECONDS:-60} s against $api_url"
timeout 600 python3 "$here/soak.py" "$api_url" "$server_pid" \
  --clients "${SOAK_CLIENTS:-16}" --duration "${SOAK_SECONDS:-60}" --warmup "${SOAK_WARMUP_SECONDS:-10}"

check_server_healthy
