# Sourced by the test scripts: pinned Python tools, each set in a virtualenv of its own under
# .tools/ (one shared virtualenv lets pip downgrade one tool for another's sake).

# venv_with VENV NAME[EXTRAS]==VERSION...: creates VENV and installs the packages, unless
# every one of them is already installed there at that version.
venv_with() {
  local venv="$1"
  shift
  local pairs=""
  for spec in "$@"; do
    local name="${spec%%==*}"
    pairs="$pairs('${name%%[*}', '${spec##*==}'),"
  done
  local check="import sys; from importlib.metadata import version; sys.exit(not all(version(n) == v for n, v in [$pairs]))"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    return
  fi
  printf '[tests] installing %s into %s\n' "$*" "$venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}
