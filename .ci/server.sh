# Sourced by .ci/schemathesis.sh and .ci/soak.sh: starts a throw-away server (the debug binary, the embedded
# SQLite demo in a fresh temp directory, a fixed JWT_SECRET, introspection on) on a free port, and kills it and
# removes the directory on exit. Sets: repo, work, api_url, server_pid, server_log.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1 # keep the checkout clean of __pycache__

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$repo/target/debug/hoi-ccb"
if [ ! -x "$binary" ]; then
  (cd "$repo" && cargo build)
fi

work="$(mktemp -d)"
server_pid=""
server_log="$work/server.log"
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT
trap 'exit 143' INT TERM # so that the EXIT trap runs on a signal too

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
api_url="http://127.0.0.1:$port/graphql"
mkdir -p "$work/server"
(
  cd "$work/server"
  exec env -u DATABASE_URL JWT_SECRET="ci-throw-away-secret-0123456789abcdef" BIND_ADDR="127.0.0.1:$port" \
    GRAPHQL_INTROSPECTION=true RUST_LOG=info,sqlx=warn "$binary" > "$server_log" 2>&1
) &
server_pid=$!

# The demo data set loads in ~15 s on a debug build; allow 3 minutes on a loaded machine.
for _ in $(seq 1 360); do
  if curl -fs "http://127.0.0.1:$port/readyz" > /dev/null; then
    ready=1
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
if [ -z "${ready:-}" ]; then
  echo "the server did not start in 3 minutes" >&2
  tail -50 "$server_log" >&2
  exit 1
fi
echo "== server up on $api_url (pid $server_pid)"

# Ends the run with the server's state: alive, and no internal error or panic in its log.
check_server_healthy() {
  if ! kill -0 "$server_pid" 2>/dev/null || ! curl -fs "http://127.0.0.1:$port/readyz" > /dev/null; then
    echo "the server is no longer alive" >&2
    tail -50 "$server_log" >&2
    return 1
  fi
  if grep -E 'internal error answered|panicked' "$server_log" >&2; then
    echo "the server logged internal errors (above)" >&2
    return 1
  fi
  echo "server still alive, no internal error in its log"
}
