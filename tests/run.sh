#!/usr/bin/env bash
# The one test command: installs what the tests need into .tools/ (pinned), starts moto in
# server mode on a free loopback port for the DynamoDB half of the store contract, runs every
# test of the workspace, then the deploy checks (tests/deploy/check.sh: cfn-lint, sam validate,
# cargo lambda zips) and the browser test (tests/browser/run.sh: Chromium, Playwright,
# `xecure serve`), and stops what it started.
#
#   bash tests/run.sh            # everything
#   bash tests/run.sh -p xecure  # extra arguments go to `cargo test`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
MOTO_VERSION="5.2.5"
MOTO_VENV="$TOOLS/moto-venv"
MOTO_LOG="$ROOT/test-artifacts/moto.log"

log() { printf '[tests/run.sh] %s\n' "$*" >&2; }

# shellcheck source=python_venv.sh
source "$ROOT/tests/python_venv.sh"
install_moto() { venv_with "$MOTO_VENV" "moto[server]==$MOTO_VERSION"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

MOTO_PID=""
stop_moto() {
  if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}
trap stop_moto EXIT

start_moto() {
  local port
  port="$(free_port)"
  mkdir -p "$(dirname "$MOTO_LOG")"
  "$MOTO_VENV/bin/python" "$ROOT/tests/moto_server.py" "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
      export XECURE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
      log "moto $MOTO_VERSION serving on $XECURE_TEST_DYNAMODB_ENDPOINT (pid $MOTO_PID)"
      return
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  log "moto did not start; its log follows"
  cat "$MOTO_LOG" >&2
  exit 1
}

command -v cargo >/dev/null || { log "cargo is required (https://rustup.rs)"; exit 1; }
command -v python3 >/dev/null || { log "python3 is required to run moto"; exit 1; }
command -v curl >/dev/null || { log "curl is required"; exit 1; }

install_moto
start_moto
cd "$ROOT"
TEST_LOG="$ROOT/test-artifacts/cargo-test.log"
set +e
cargo test --workspace "$@" 2>&1 | tee "$TEST_LOG"
status=${PIPESTATUS[0]}
set -e
# cargo prints one "test result" line per test binary, the last often a binary with no tests:
# close with the workspace total, so a reader of the last line sees what really ran.
# A full run (no arguments) also checks the SAM template and builds the Lambda zips
# (tests/deploy/check.sh), and drives the demo app in headless Chromium.
deploy="not run (arguments given)"
browser="not run (arguments given)"
if [ "$#" -eq 0 ]; then
  if bash "$ROOT/tests/deploy/check.sh"; then deploy="passed"; else deploy="FAILED"; status=1; fi
  if bash "$ROOT/tests/browser/run.sh"; then browser="passed"; else browser="FAILED"; status=1; fi
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "Workspace: %d passed, %d failed\n", p, f }' "$TEST_LOG"
echo "Deploy checks (cfn-lint, sam validate, cargo lambda): $deploy"
echo "Browser test (demo app, Chromium): $browser"
exit "$status"
