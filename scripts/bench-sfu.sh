#!/usr/bin/env bash
# SFU benchmark: starts a release `veet dev` on loopback and runs `veet loadtest` against it
# for 1 room × 10 participants and 10 rooms × 4 participants, printing the figures.
# Not a test: nothing here passes or fails on speed.
set -euo pipefail

duration="${DURATION:-30s}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench-dev.sh" /tmp/veet-bench-dev.log

run() {
  echo "--- $1 rooms × $2 participants, $duration"
  RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --rooms "$1" --publishers "$2" \
    --duration "$duration" --node-pid "$pid"
}
run 1 10
run 10 4
