#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this). Installs what the tests
# need (redis-server, Chromium, coturn, openssl, curl, npm and PyPI packages, cfn-lint, cargo-lambda) and fails on the first
# failing stage.
#
# Stages: lint (rustfmt, clippy), Rust build, Rust tests (unit, routing suite on a real
# redis-server, signaling over real WebSockets, Lambda binaries against a local Runtime API,
# media through real SFU processes), web (tsc, vitest, build, browser end-to-end in headless
# Chromium), the OpenAPI document against the running server, AWS CDK (synth, assertions,
# cdk-nag, cfn-lint).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$SECONDS
stage() { echo; echo "=== $* ($((SECONDS - started)) s)"; }

# CI keeps cargo's target directory outside the clone between runs; a cold one works too.
if [[ "${CI:-}" == "true" && ! -e target ]]; then
  cache="${VEET_TARGET_CACHE:-$HOME/.cache/veet/target}"
  mkdir -p "$cache"
  ln -s "$cache" target
fi

stage "system packages"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
if ((${#missing[@]})); then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stage "rustfmt"
cargo fmt --all -- --check

stage "clippy"
cargo clippy --workspace --all-targets -- -D warnings

stage "build"
cargo build --workspace --bins

stage "OpenAPI document"
bash scripts/test-openapi.sh

stage "Rust tests"
cargo test --workspace

stage "web"
bash scripts/test-web.sh

stage "cdk"
bash scripts/test-cdk.sh

stage "fuzz"
bash scripts/test-fuzz.sh

stage "all passed"
