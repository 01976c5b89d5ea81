"""Schemathesis hooks for .ci/schemathesis.sh: the one check the run applies.

Schemathesis' own `not_a_server_error` takes any GraphQL error with a `path` and no Apollo client-error code
for a server failure, so this API's NOT_FOUND, FORBIDDEN, CONFLICT, RATE_LIMITED, ... would all count. Here a
response fails only when the server itself failed: an HTTP 5xx, an error coded INTERNAL_SERVER_ERROR, an
error without any `extensions.code` (every error of this API names one), or a body that is not a GraphQL
response at all.
"""

import json

import schemathesis


@schemathesis.check
def no_internal_error(ctx, response, case):
    """No 5xx, no INTERNAL_SERVER_ERROR, every error coded, every body a GraphQL JSON object."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:500]!r}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"HTTP {response.status_code}, body is not JSON ({exc}): {response.content[:500]!r}")
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise AssertionError(f"HTTP {response.status_code}, not a GraphQL response: {response.content[:500]!r}")
    for error in body.get("errors") or []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"INTERNAL_SERVER_ERROR: {json.dumps(error, ensure_ascii=False)[:500]}")
        if not isinstance(code, str) or not code:
            raise AssertionError(f"an error without extensions.code: {json.dumps(error, ensure_ascii=False)[:500]}")
    return None
