#!/usr/bin/env bash
# Schemathesis (PyPI, GraphQL mode) against a throw-away server: every root field, fuzzed with the demo admin's
# token and real ids, must never answer an HTTP 5xx, an INTERNAL_SERVER_ERROR, an error without a code or a
# body that is not GraphQL (.ci/schemathesis/hoi_ccb_hooks.py), and the server must be alive at the end.
# About 2 minutes on 2 cores. SCHEMATHESIS_MAX_EXAMPLES and SCHEMATHESIS_SEED override the bounds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

version=4.32.5
venv="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hoi-ccb/schemathesis-$version"
if [[ "$("$venv/bin/st" --version 2>/dev/null || true)" != *"version $version" ]]; then
  echo "== installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

source "$here/server.sh"

token="$(python3 "$here/schemathesis/prepare.py" "$api_url" "$work/schemathesis.toml")"

echo "== schemathesis $version (GraphQL) against $api_url"
# importMembers takes an Upload (multipart), which schemathesis cannot generate; tests/api covers it.
# Run from the temp directory, where schemathesis keeps its cache, so the checkout stays clean.
cd "$work"
PYTHONPATH="$here/schemathesis" SCHEMATHESIS_HOOKS=hoi_ccb_hooks \
  timeout 600 "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$api_url" \
  --header "Authorization: Bearer $token" \
  --checks no_internal_error \
  --exclude-name Mutation.importMembers \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed "${SCHEMATHESIS_SEED:-$RANDOM}" \
  --workers 2 \
  --request-timeout 30 \
  --warnings off

check_server_healthy
