#!/usr/bin/env bash
# Runs a complete Veet meeting server on this machine: builds the web app (if needed) and the
# `veet` binary, then starts `veet dev` (signaling emulator, in-memory routing, one SFU node,
# the web app) on http://127.0.0.1:8080/. Extra arguments go to `veet dev`
# (e.g. `--bind 0.0.0.0` to let other machines on the LAN join, `--port 9000`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js (with npm) is required" >&2; exit 1; }

if [[ ! -f web/dist/index.html || -n "$(find web/src web/index.html -newer web/dist/index.html -print -quit)" ]]; then
  echo "==> building the web app"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi

echo "==> building veet (release)"
cargo build --release -p veet

exec "$root/target/release/veet" dev "$@"
