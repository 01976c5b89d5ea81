#!/usr/bin/env bash
# The browser test: Debian's headless Chromium against the real server with the embedded demo.
# Installs Chromium (apt-get) and playwright-core (npm ci, pinned in package-lock.json) when missing, starts
# the server in a fresh temp directory and a blank page on a second port, then runs run.mjs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if [ ! -d "$here/node_modules" ]; then
  echo "== npm ci (playwright-core)"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
fi
binary="$repo/target/debug/hoi-ccb"
if [ ! -x "$binary" ]; then
  (cd "$repo" && cargo build)
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

api_port="$(free_port)"
page_port="$(free_port)"
while [ "$page_port" = "$api_port" ]; do page_port="$(free_port)"; done
allowed="http://localhost:$page_port"
blocked="http://127.0.0.1:$page_port"

mkdir -p "$work/server" "$work/page"
printf '<!doctype html><title>browser test origin</title>\n' > "$work/page/index.html"

echo "== starting the server on 127.0.0.1:$api_port (CORS only for $allowed)"
(
  cd "$work/server"
  exec env -u DATABASE_URL -u JWT_SECRET BIND_ADDR="127.0.0.1:$api_port" CORS_ALLOWED_ORIGINS="$allowed" \
    "$binary" > "$work/server.log" 2>&1
) &
pids+=($!)
python3 -m http.server "$page_port" --bind 127.0.0.1 --directory "$work/page" > "$work/page.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 240); do
  if curl -fs "http://127.0.0.1:$api_port/readyz" > /dev/null && curl -fs "$blocked/" > /dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ -z "${ready:-}" ]; then
  echo "the server or the page did not start in 2 minutes" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi

echo "== run.mjs"
if ! API_URL="http://127.0.0.1:$api_port" ALLOWED_ORIGIN="$allowed" BLOCKED_ORIGIN="$blocked" \
  node "$here/run.mjs"; then
  echo "== server log (last 50 lines)" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
