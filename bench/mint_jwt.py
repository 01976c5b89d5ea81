#!/usr/bin/env python3
"""Mints an HS256 JWT for hoi-ccb with the standard library only.
usage: JWT_SECRET=... mint_jwt.py ROLE [SCOPE_NODE]   e.g.  mint_jwt.py ADMIN   |   mint_jwt.py BASE_OFFICIAL Base:17
SCOPE_NODE "Kind:N" becomes the global id base64url_nopad("Kind:N")."""
import base64, hashlib, hmac, json, os, sys, time

def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

role = sys.argv[1]
now = int(time.time())
claims = {"sub": f"bench|{role.lower()}", "role": role, "iss": os.environ.get("JWT_ISSUER", "hoi-ccb"),
          "aud": os.environ.get("JWT_AUDIENCE", "hoi-ccb-api"), "iat": now, "exp": now + 3 * 3600}
if len(sys.argv) > 2:
    claims["scope_id"] = b64url(sys.argv[2].encode())
header = {"alg": "HS256", "typ": "JWT"}
signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
                b64url(json.dumps(claims, separators=(",", ":")).encode())
sig = hmac.new(os.environ["JWT_SECRET"].encode(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64url(sig))
