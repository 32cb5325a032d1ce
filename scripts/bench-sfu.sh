#!/usr/bin/env bash
# SFU benchmark: starts a release `veet dev` on loopback and runs `veet loadtest` against it
# for 1 room × 10 participants and 10 rooms × 4 participants, printing the figures.
# Not a test: nothing here passes or fails on speed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
duration="${DURATION:-30s}"
cargo build --release -p veet
veet="$root/target/release/veet"
export VEET_TOKEN_SECRET="${VEET_TOKEN_SECRET:-bench-secret}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn "$veet" dev --port "$port" >/tmp/veet-bench-dev.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

run() {
  echo "--- $1 rooms × $2 participants, $duration"
  RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --rooms "$1" --publishers "$2" \
    --duration "$duration" --node-pid "$pid"
}
run 1 10
run 10 4
