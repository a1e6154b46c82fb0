#!/usr/bin/env bash
# The browser tests: installs Chromium (Debian package) and playwright-core (npm, pinned by
# package-lock.json) if missing, starts `xecure serve` on a free loopback port with a fresh
# data directory and a brand (name, logo, colour), drives the demo app through login, partial
# consent and the API calls (demo_flow.mjs), then the branded consent screen of a
# self-registered app and the account page (account_flow.mjs, with a registration token from
# `xecure client registration-token`, run beside the server), then panva's openid-client
# through a whole OpenID Connect sign-in (oidc_client.mjs) and through PAR and DPoP
# (dpop_par_client.mjs), and stops the server.
# Screenshots go to test-artifacts/browser/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/browser"
SHOTS="$ROOT/test-artifacts/browser"
SERVE_LOG="$ROOT/test-artifacts/browser-serve.log"
XECURE="${CARGO_TARGET_DIR:-$ROOT/target}/debug/xecure"

log() { printf '[tests/browser] %s\n' "$*" >&2; }

install_chromium() {
  command -v chromium >/dev/null && return
  log "installing Debian's chromium"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || { log "chromium is missing and cannot be installed without root"; exit 1; }
    sudo="sudo -n"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

command -v node >/dev/null || { log "node is required"; exit 1; }
install_chromium
(cd "$HERE" && npm ci --no-audit --no-fund --silent)
[ -x "$XECURE" ] || cargo build -p xecure-cli

DATA_DIR="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$SHOTS"
XECURE_BRAND_NAME="Acme ID" XECURE_BRAND_LOGO_URL="https://cdn.acme.example/logo.svg" \
  XECURE_BRAND_COLOR="#aa3300" XECURE_BRAND_PRIVACY_URL="https://acme.example/privacy" \
  XECURE_DPOP_NONCE=required \
  "$XECURE" --data-dir "$DATA_DIR" serve --listen "127.0.0.1:$PORT" >"$SERVE_LOG" 2>&1 &
SERVE_PID=$!
cleanup() {
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  grep -q '^protected demo API' "$SERVE_LOG" && break
  kill -0 "$SERVE_PID" 2>/dev/null || { log "xecure serve exited; its log follows"; cat "$SERVE_LOG" >&2; exit 1; }
  sleep 0.2
done
PASSWORD="$(sed -n 's/^created user demo, password (shown once): //p' "$SERVE_LOG")"
[ -n "$PASSWORD" ] || { log "xecure serve printed no demo password; its log follows"; cat "$SERVE_LOG" >&2; exit 1; }
node "$HERE/demo_flow.mjs" "http://127.0.0.1:$PORT" demo "$PASSWORD" "$SHOTS"
TOKEN="$("$XECURE" --data-dir "$DATA_DIR" client registration-token | sed -n 's/^initial_access_token: //p')"
[ -n "$TOKEN" ] || { log "no registration token from the CLI beside the server"; exit 1; }
node "$HERE/account_flow.mjs" "http://127.0.0.1:$PORT" demo "$PASSWORD" "$TOKEN" "$SHOTS"
# An unmodified OpenID Connect client library (openid-client) signs in, reads UserInfo,
# refreshes and logs out; it registers itself with a token of its own.
TOKEN="$("$XECURE" --data-dir "$DATA_DIR" client registration-token | sed -n 's/^initial_access_token: //p')"
[ -n "$TOKEN" ] || { log "no registration token from the CLI beside the server"; exit 1; }
node "$HERE/oidc_client.mjs" "http://127.0.0.1:$PORT" demo "$PASSWORD" "$TOKEN" "$SHOTS"
# DPoP and PAR with the same library: a public app the operator registers to need both
# (the README's commands), on the standard usage plan so the gateway takes its calls; the
# server requires DPoP nonces (XECURE_DPOP_NONCE above), which the library retries with.
"$XECURE" --data-dir "$DATA_DIR" client add dpop-app --name "DPoP App" --public \
  --redirect-uri http://127.0.0.1/cb --scope "openid orders:read" \
  --dpop-bound-access-tokens --require-pushed-authorization-requests >/dev/null
"$XECURE" --data-dir "$DATA_DIR" usage-plan assign --client dpop-app --plan standard >/dev/null
node "$HERE/dpop_par_client.mjs" "http://127.0.0.1:$PORT" demo "$PASSWORD" dpop-app "$SHOTS"
