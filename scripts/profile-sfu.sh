#!/usr/bin/env bash
# Instruction profile of the forwarding path: a release `veet dev` under valgrind's callgrind
# with a small fixed load (1 room × 3 publishers at 300 kbit/s video, so the slowed node keeps
# up). callgrind counts instructions, not seconds, so the figure repeats on a noisy machine:
# it prints instructions per forwarded packet over a 10 s window of steady forwarding, and
# the functions that cost the most, inclusive of what they call (self costs come out of a
# mid-run dump attributed to the threads' entry point, so they are not shown).
# VEET_BENCH_NODE=<veet binary> profiles another build (an A/B under the same load).
# Not a test: nothing here passes or fails on speed.
set -euo pipefail

command -v valgrind >/dev/null || {
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get install -y -qq valgrind >/dev/null
}
window="${WINDOW:-10}"
out="$(mktemp -d)"
bench_wrap="valgrind --tool=callgrind --callgrind-out-file=$out/callgrind.out"
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench-dev.sh" "$out/node.log"
node="${VEET_BENCH_NODE:-$veet}"

forwarded() {
  curl -s "http://127.0.0.1:$port/metrics" | awk '/^veet_sfu_packets_forwarded_total/ {print $2}'
}

RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --publishers 3 \
  --video-bitrate 300000 --warmup 5s --duration "$((window + 15))s" >"$out/loadtest.log" 2>&1 &
load=$!
# Let everyone connect and the first keyframes go by before counting.
sleep 12
callgrind_control --zero "$pid" >/dev/null
before=$(forwarded)
sleep "$window"
after=$(forwarded)
callgrind_control --dump "$pid" >/dev/null
wait $load || true

dump=$(ls -t "$out"/callgrind.out* | grep -v '\.out$' | head -1)
[[ -n "$dump" ]] || dump="$out/callgrind.out"
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
packets=$((after - before))
echo "node: $node"
echo "forwarded packets in ${window} s: $packets"
if ((packets > 0)); then
  echo "instructions per forwarded packet: $((total / packets)) (all the node's threads: $total in all)"
fi
echo "(callgrind output: $dump)"
echo
echo "--- top functions by inclusive instructions"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 3,50p | cut -c1-220
