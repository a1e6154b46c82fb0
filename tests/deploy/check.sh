#!/usr/bin/env bash
# Deploy checks, part of the test command (tests/run.sh), offline and with no AWS account:
#   1. cfn-lint and `sam validate --lint` on infra/template.yaml (pinned, in .tools/sam-venv,
#      a virtualenv of their own: sharing moto's makes pip downgrade one or the other), then
#      tests/deploy/translate_check.py on SAM's own translation (a new REST deployment on
#      every deploy, access logs, usage plans and WAF on the stage, throttling), and the
#      README's backend example checking the origin secret (infra/examples/backend.py);
#   2. `cargo lambda build --release --output-format zip` of the four functions (pinned
#      cargo-lambda with its zig, in .tools/cargo-lambda-venv), which must leave one
#      bootstrap.zip per function; prints each zip's size and the build time.
# The build targets x86_64-unknown-linux-gnu, whose standard library every stable toolchain
# on this machine has, and which is the template's default Architecture (the drift test
# keeps the two equal); arm64 needs `rustup target add aarch64-unknown-linux-gnu`.
#
#   bash tests/deploy/check.sh            # both
#   bash tests/deploy/check.sh template   # only the template checks (seconds)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.17.1"
SAM_VENV="$TOOLS/sam-venv"
CARGO_LAMBDA_VENV="$TOOLS/cargo-lambda-venv"
TEMPLATE="$ROOT/infra/template.yaml"
FUNCTIONS=(authorize consent token authorizer)
TARGET="x86_64-unknown-linux-gnu"

log() { printf '[tests/deploy/check.sh] %s\n' "$*" >&2; }

# shellcheck source=../python_venv.sh
source "$ROOT/tests/python_venv.sh"

check_template() {
  venv_with "$SAM_VENV" "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION"
  # No account, no credentials, no telemetry: the lint is local, and must stay so.
  local offline=(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    SAM_CLI_TELEMETRY=0)
  log "cfn-lint $CFN_LINT_VERSION: infra/template.yaml"
  "${offline[@]}" "$SAM_VENV/bin/cfn-lint" "$TEMPLATE"
  log "sam validate --lint (aws-sam-cli $SAM_CLI_VERSION): infra/template.yaml"
  "${offline[@]}" "$SAM_VENV/bin/sam" validate --lint --template "$TEMPLATE"
  log "SAM translation: tests/deploy/translate_check.py"
  "${offline[@]}" "$SAM_VENV/bin/python" "$ROOT/tests/deploy/translate_check.py"
  log "backend example: python3 infra/examples/backend.py --self-test"
  python3 "$ROOT/infra/examples/backend.py" --self-test
}

# The Lambdas build without the test doubles and the embedded store (issue #18): the features
# of xecure that their normal dependencies turn on, resolved as `cargo lambda build` resolves
# them (the four packages together), are the default ones only.
check_function_features() {
  local package_args=() features
  for function in "${FUNCTIONS[@]}"; do package_args+=(-p "$function"); done
  features=$(cd "$ROOT" && cargo tree --locked -e normal,features "${package_args[@]}" -i xecure \
    | grep -o 'xecure feature "[^"]*"' | sort -u)
  if [ "$features" != 'xecure feature "default"' ]; then
    log "the functions compile xecure with more than its default features: $features"
    return 1
  fi
  log "functions compile xecure with its default features only (no testing, no embedded)"
  # Nor what Lambda never runs (issue #21 goal 3): the SDK's legacy hyper 0.14 + rustls 0.21
  # + ring client beside the default one, and aws-config's SSO and credential-process
  # providers, which only the operator CLI turns on (Cargo.toml).
  local compiled
  compiled=$(cd "$ROOT" && cargo tree --locked -e normal --prefix none --target "$TARGET" \
    "${package_args[@]}" | sort -u)
  if grep -E '^(aws-sdk-sso(oidc)? v|ring v|hyper v0\.|rustls v0\.2[01]\.)' <<<"$compiled"; then
    log "the functions compile the packages above"
    return 1
  fi
  log "functions compile neither the legacy TLS client nor the SSO providers"
}

build_functions() {
  check_function_features
  venv_with "$CARGO_LAMBDA_VENV" "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
  local target_dir
  target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  local package_args=()
  for function in "${FUNCTIONS[@]}"; do
    package_args+=(-p "$function")
    rm -f "$target_dir/lambda/$function/bootstrap.zip"
  done
  log "cargo lambda build --release --output-format zip --target $TARGET (${FUNCTIONS[*]})"
  local started=$SECONDS
  # cargo-lambda finds `cargo-zigbuild`'s zig through the venv's Python on PATH.
  (cd "$ROOT" && PATH="$CARGO_LAMBDA_VENV/bin:$PATH" cargo lambda build --release \
    --output-format zip --target "$TARGET" --locked "${package_args[@]}")
  local elapsed=$((SECONDS - started))
  local missing=0
  for function in "${FUNCTIONS[@]}"; do
    local zip="$target_dir/lambda/$function/bootstrap.zip"
    if python3 -c 'import sys, zipfile; sys.exit("bootstrap" not in zipfile.ZipFile(sys.argv[1]).namelist())' "$zip" 2>/dev/null; then
      printf '%-11s %8d bytes  %s\n' "$function" "$(stat -c %s "$zip")" "$zip"
    else
      log "no bootstrap.zip with a bootstrap for $function at $zip"
      missing=1
    fi
  done
  echo "cargo lambda build: ${elapsed}s"
  return "$missing"
}

command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
check_template
if [ "${1:-}" != "template" ]; then
  build_functions
fi
