#!/usr/bin/env bash
# Tests of the AWS deployment (cdk/): builds the Lambda binaries from lambdas/ with
# cargo-lambda, then runs the CDK tests — offline `cdk synth`, assertions on the template,
# cdk-nag, cfn-lint, Debian's coturn running the TURN fleet's command line, and the built
# handlers answering a local Lambda Runtime API.
# Installs what it needs; no AWS account or credentials are used.
# Ends with `cdk: N passed, M failed`; exits non-zero on any failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdk="$repo/cdk"
tap="$(mktemp)"
summary_printed=0
started=$SECONDS

finish() {
  local rc=$?
  rm -f "$tap"
  if [[ $summary_printed == 0 ]]; then
    # A setup step failed before any test ran.
    echo "cdk: 0 passed, 1 failed"
  fi
  exit "$rc"
}
trap finish EXIT

step() { echo "== cdk: $* ($((SECONDS - started)) s)"; }

step "tools"
# pip puts console scripts here; with pyenv the shims may not know them yet.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
# The TURN test runs the deployed coturn command line on Debian's coturn.
command -v turnserver >/dev/null || { apt-get update -qq && apt-get install -y -qq coturn >/dev/null; }
command -v cfn-lint >/dev/null || python3 -m pip install --quiet cfn-lint
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda

step "npm ci"
cd "$cdk"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "tsc"
npx --no-install tsc -p .

step "cargo lambda build"
# The binaries the stack deploys, as the CDK app lists them.
mapfile -t binaries < <(node -e 'require("./dist/lib/config").LAMBDA_BINARIES.forEach((b) => console.log(b))')
bin_args=()
for bin in "${binaries[@]}"; do
  [[ -f "$repo/lambdas/src/bin/$bin.rs" ]] || { echo "lambdas/src/bin/$bin.rs does not exist"; exit 1; }
  bin_args+=(--bin "$bin")
done
(cd "$repo" && cargo lambda build --release --target x86_64-unknown-linux-gnu -p veet-lambdas "${bin_args[@]}")

step "tests"
set +e
node --test --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  dist/test/*.test.js
tests_rc=$?
set -e
passed=$(awk '/^# pass /{print $3}' "$tap")
failed=$(awk '/^# fail /{print $3}' "$tap")
passed=${passed:-0}
failed=${failed:-0}
# A runner that failed without counting a failure (crash, no tests) still fails.
if [[ $tests_rc != 0 && $failed == 0 ]] || [[ $passed == 0 ]]; then failed=$((failed + 1)); fi
step "done"
echo "cdk: $passed passed, $failed failed"
summary_printed=1
[[ $failed == 0 ]]
