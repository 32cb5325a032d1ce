#!/usr/bin/env bash
# Large-room benchmark: a release `veet dev` on loopback and `veet loadtest` with one room of
# 16 participants without simulcast (every video full rate to everyone, every microphone
# open), then rooms of 25 and 50 with `--simulcast` (q/h/f; each shows one other large, nine
# small, the rest hidden) where three talk and the others are muted (their clients send
# digital silence, which the node drops), and 50 again with every microphone open. Prints
# per-participant downlink (p50/max), node CPU per forwarded packet and memory per subscribed
# track. The load
# generator shares the machine with the node; pin them apart with `taskset` where that helps.
# Not a test: nothing here passes or fails on speed.
set -euo pipefail

duration="${DURATION:-20s}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench-dev.sh" /tmp/veet-bench-large.log

run() {
  echo "--- 1 room × $1 participants $2, $duration"
  RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --rooms 1 --publishers "$1" \
    --duration "$duration" --warmup 5s --node-pid "$pid" $2 || true
}
run 16 ""
run 25 "--simulcast --talkers 3"
run 50 "--simulcast --talkers 3"
run 50 --simulcast
