#!/usr/bin/env bash
# Failover benchmark: builds release binaries and runs tests/benches/failover.rs, which starts a
# cluster (a private redis-server, `veet dev --no-sfu --redis`, two `veet sfu` nodes) with
# 10 rooms × 3 synthetic participants and, for a SIGTERM to a hosting node (drain), a `kill -9`
# of one and a Redis restart, prints the media gap per participant (p50 / max) against the
# targets (drain < 1 s, node death < 5 s, Redis restart: no gap).
# Not a test: nothing here passes or fails on timing.
#
# Knobs (environment): VEET_BENCH_ROOMS (10), VEET_BENCH_PER_ROOM (3), VEET_BENCH_VIDEO_BPS
# (300000), VEET_BENCH_EVENTS (drain,kill,redis), VEET_BENCH_RECOVERY_SECS (30),
# VEET_BENCH_JITTER_MS (the emulator's invocation jitter; default as the tests: 50),
# VEET_BENCH_LOGS=1 (print each process's log tail after each event).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v redis-server >/dev/null; then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
export VEET_TEST_REDIS_SERVER="${VEET_TEST_REDIS_SERVER:-$(command -v redis-server)}"
cargo build --release -p veet
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$root/$target"
export VEET_BENCH_VEET="$target/release/veet"
cargo bench -p veet-tests --bench failover
