#!/usr/bin/env bash
# Web client checks: type-check, unit tests, production build (with its gzip size) and the
# browser end-to-end tests against a real `veet dev`. Installs what it needs itself.
# Expects `cargo build --workspace` (or -p veet) to have been run already.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VEET_BIN="${VEET_BIN:-$ROOT/target/debug/veet}"
export VEET_BIN

if [[ ! -x "$VEET_BIN" ]]; then
  echo "error: $VEET_BIN is missing; run 'cargo build --workspace' first" >&2
  exit 1
fi

# Chromium for the browser tests; redis-server for the fleet tests' cluster; coturn for the
# relay-only tests.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  echo "==> installing ${missing[*]}"
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "==> web: npm ci"
(cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error)
echo "==> tests/browser: npm ci"
(cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)

cd "$ROOT/web"
echo "==> tsc --noEmit"
npx tsc --noEmit
echo "==> vitest"
npx vitest run
echo "==> vite build"
npx vite build
js_gzip=$(cat dist/assets/*.js | gzip -9 | wc -c)
css_gzip=$(cat dist/assets/*.css | gzip -9 | wc -c)
echo "bundle gzip size: JS ${js_gzip} bytes, CSS ${css_gzip} bytes, total $((js_gzip + css_gzip)) bytes"

echo "==> browser end-to-end tests"
cd "$ROOT/tests/browser"
VEET_WEB_DIR="$ROOT/web/dist" npm test
