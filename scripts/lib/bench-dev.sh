# Sourced by the benchmarks: builds the release `veet`, starts `veet dev` on a free loopback
# port (log in $1) and sets $veet, $port and $pid; the node is killed on exit.
# VEET_BENCH_NODE=<path to a veet binary> runs that build as the node instead, with this
# checkout's load generator: an A/B of two builds under the same load. VEET_BENCH_REDIS=1
# keeps the routing state in a redis-server of its own (a free port, nothing saved) instead
# of in memory. $bench_wrap (set by the sourcing script) prefixes the node's command line (a
# profiler).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release -p veet
veet="$root/target/release/veet"
export VEET_TOKEN_SECRET="${VEET_TOKEN_SECRET:-bench-secret}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
redis_args=()
redis_pid=""
if [[ "${VEET_BENCH_REDIS:-}" == 1 ]]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  redis_pid=$!
  redis_args=(--redis "redis://127.0.0.1:$redis_port")
  for _ in $(seq 50); do
    (echo >"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
    sleep 0.1
  done
fi
# shellcheck disable=SC2086 # the wrapper is a command line
RUST_LOG=warn ${bench_wrap:-} "${VEET_BENCH_NODE:-$veet}" dev --port "$port" "${redis_args[@]}" >"$1" 2>&1 &
pid=$!
trap 'kill $pid $redis_pid 2>/dev/null || true' EXIT
# Up to a minute: under a profiler the node starts slowly.
for _ in $(seq 600); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
