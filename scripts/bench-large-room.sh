#!/usr/bin/env bash
# Large-room benchmark: a release `veet dev` on loopback and `veet loadtest` with one room of
# 16 participants without simulcast (every video full rate to everyone), then rooms of 25
# and 50 with `--simulcast` (q/h/f; each shows one other large, nine small, the rest
# hidden). Prints per-participant downlink (p50/max), node CPU and memory. The load
# generator shares the machine with the node; pin them apart with `taskset` where that helps.
# Not a test: nothing here passes or fails on speed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
duration="${DURATION:-20s}"
cargo build --release -p veet
veet="$root/target/release/veet"
export VEET_TOKEN_SECRET="${VEET_TOKEN_SECRET:-bench-secret}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn "$veet" dev --port "$port" >/tmp/veet-bench-large.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

run() {
  echo "--- 1 room × $1 participants $2, $duration"
  RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --rooms 1 --publishers "$1" \
    --duration "$duration" --warmup 5s --node-pid "$pid" $2 || true
}
run 16 ""
run 25 --simulcast
run 50 --simulcast
