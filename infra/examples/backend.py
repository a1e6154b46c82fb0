#!/usr/bin/env python3
"""A backend behind Xecure's API Gateway that believes a caller's identity only when the
request came through the gateway (security rule 22; README, "Prove the gateway to the
backend").

The gateway's integration sends, with every call the authorizer allowed:
  X-Xecure-Origin-Verify   the stack's OriginVerifySecret
  X-Xecure-Sub             the user (or client:<id> for client_credentials tokens)
  X-Xecure-Client-Id       the app
  X-Xecure-Scope           the granted scopes, space-separated
A request without the right secret reached the backend around the gateway (no authorizer,
no usage plan, no access log): its identity headers are forged, so it gets 403.

    XECURE_ORIGIN_SECRETS=<current>[,<previous>] python3 backend.py --listen 127.0.0.1:8080
    python3 backend.py --self-test

Standard library only. During a rotation list the new secret and the old one, deploy the
stack with the new one, then drop the old one.
"""

import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORIGIN_HEADER = "X-Xecure-Origin-Verify"


def accepted_secrets(raw):
    """The secrets from XECURE_ORIGIN_SECRETS: comma-separated, empty entries ignored."""
    return [secret.strip().encode() for secret in raw.split(",") if secret.strip()]


def from_gateway(presented, secrets):
    """Whether `presented` is one of `secrets`. Every secret is compared, each in constant
    time (hmac.compare_digest), so timing tells nothing about which matched or how much."""
    if presented is None or not secrets:
        return False
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(presented.encode(), secret)
    return matched


def caller(headers, secrets):
    """The caller's identity, or None when the request did not come through the gateway."""
    if not from_gateway(headers.get(ORIGIN_HEADER), secrets):
        return None
    return {
        "sub": headers.get("X-Xecure-Sub", ""),
        "client_id": headers.get("X-Xecure-Client-Id", ""),
        "scope": headers.get("X-Xecure-Scope", "").split(),
    }


class Handler(BaseHTTPRequestHandler):
    secrets = []

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        identity = caller(self.headers, self.secrets)
        if identity is None:
            self.answer(403, {"message": "this API is reached only through the gateway"})
            return
        self.answer(200, {"path": self.path, "caller": identity})


def self_test():
    current = "c" * 64
    previous = "p" * 64
    secrets = accepted_secrets(f"{current}, {previous},")
    assert len(secrets) == 2
    assert from_gateway(current, secrets)
    assert from_gateway(previous, secrets), "the previous secret during a rotation"
    assert not from_gateway(None, secrets), "no header"
    assert not from_gateway("", secrets)
    assert not from_gateway(current[:32], secrets), "a prefix"
    assert not from_gateway(current, []), "no secret configured: refuse everything"
    forged = {"X-Xecure-Sub": "usr_admin", "X-Xecure-Client-Id": "web-app"}
    assert caller(forged, secrets) is None, "identity headers without the secret"
    through = dict(forged, **{ORIGIN_HEADER: current, "X-Xecure-Scope": "orders:read"})
    assert caller(through, secrets) == {
        "sub": "usr_admin",
        "client_id": "web-app",
        "scope": ["orders:read"],
    }
    print("backend.py: origin checks pass")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) == 3 and argv[1] == "--listen":
        host, _, port = argv[2].rpartition(":")
        Handler.secrets = accepted_secrets(os.environ.get("XECURE_ORIGIN_SECRETS", ""))
        if not Handler.secrets:
            print("set XECURE_ORIGIN_SECRETS to the stack's OriginVerifySecret", file=sys.stderr)
            return 2
        ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
