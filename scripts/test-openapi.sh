#!/usr/bin/env bash
# Checks openapi.yaml: validates the document and its examples, then sends every documented
# request example to a real `veet dev` and checks statuses, bodies and webhooks against it
# (tests/openapi/check_openapi.py). Installs its Python dependencies itself.
# Expects `cargo build --workspace --bins` (or `-p veet`) to have been run already.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VEET_BIN="${VEET_BIN:-$ROOT/target/debug/veet}"
export VEET_BIN

if [[ ! -x "$VEET_BIN" ]]; then
  echo "error: $VEET_BIN is missing; run 'cargo build --workspace --bins' first (or set VEET_BIN)" >&2
  exit 1
fi
for tool in python3 curl openssl; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is needed to check the document's examples" >&2
    exit 1
  fi
done

echo "==> openapi: installing the checker's Python dependencies"
pip_install() {
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$@" \
    -r "$ROOT/tests/openapi/requirements.txt"
}
# A Debian system Python refuses pip installs (PEP 668) unless told otherwise.
pip_install || PIP_BREAK_SYSTEM_PACKAGES=1 pip_install

echo "==> openapi: checking openapi.yaml against $VEET_BIN"
cd "$ROOT"
exec timeout 300 python3 "$ROOT/tests/openapi/check_openapi.py"
