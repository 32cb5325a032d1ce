#!/usr/bin/env bash
# Fuzzes what Veet parses from outside (fuzz/: client frames, join tokens, the SDP the node
# reads) with cargo-fuzz for FUZZ_SECONDS each (default 20; longer runs: FUZZ_SECONDS=600).
# cargo-fuzz drives libFuzzer, whose instrumentation flags are nightly-only: RUSTC_BOOTSTRAP
# lets the machine's stable toolchain take them, without a sanitizer (-s none), which needs a
# nightly runtime. A crash leaves its input in fuzz/artifacts/<target>/ and fails the run;
# each one fixed becomes a regression test next to the code it broke.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
seconds="${FUZZ_SECONDS:-20}"
if ! command -v cargo-fuzz >/dev/null; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
# Instrumented builds share nothing with the main workspace's; CI keeps theirs between runs.
target_dir="$root/fuzz/target"
if [[ "${CI:-}" == "true" ]]; then
  target_dir="${VEET_FUZZ_TARGET_CACHE:-$HOME/.cache/veet/fuzz-target}"
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none --target-dir "$target_dir"
for t in $(cargo fuzz list); do
  echo "==> fuzz $t, ${seconds} s"
  cargo fuzz run "$t" -s none --target-dir "$target_dir" -- -max_total_time="$seconds" 2>&1 |
    grep -E "^Done|DONE|ERROR|panicked|crash-" || true
  # libFuzzer exits non-zero on a crash; pipefail is off for the grep, so check artifacts.
  if compgen -G "artifacts/$t/*" >/dev/null; then
    echo "error: fuzz target $t found a crash: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
