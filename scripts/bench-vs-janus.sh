#!/usr/bin/env bash
# Side-by-side SFU benchmark: the same `veet loadtest` participants (same codecs, bitrates and
# packet sizes) against a release `veet dev` and against Janus 1.1 (Debian's package) with its
# VideoRoom plugin on loopback. For each scenario it prints, per SFU, forwarded packets/s,
# the SFU process's CPU per forwarded packet, loss, latency and memory per subscribed track,
# then the ratio Veet/Janus. Scenarios: 1 room × 10 publishers, 1 publisher → 50 subscribers,
# 10 rooms × 4 publishers, and the largest room (everyone publishing) each SFU holds under 1 %
# loss (ROOM_SIZES, PROBE seconds per size). DURATION sets the length of the first three.
# Installs Janus with apt when missing. Not a test: nothing here passes or fails on speed.
#
# Janus (libnice) gathers no loopback candidates, so it runs in a network namespace this
# script makes, linked to the host by a veth pair (10.213.0.1 here, 10.213.0.2 there); its
# participants send from 10.213.0.1. Needs root (ip netns). Veet stays on loopback.
set -euo pipefail

duration="${DURATION:-20s}"
if ! command -v janus >/dev/null; then
  echo "installing janus (Debian package)"
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q janus >/dev/null; else sudo apt-get install -y -q janus >/dev/null; fi
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench-dev.sh" /tmp/veet-bench-janus-veet.log

# Janus in its own namespace, with only the VideoRoom plugin and the WebSocket transport.
ns="veet-janus-$$"
host_if="vj$$h"; ns_if="vj$$n"
host_ip=10.213.0.1; ns_ip=10.213.0.2
jdir=$(mktemp -d)
jport=8188
cleanup() {
  kill "$pid" "${jpid:-}" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
  rm -rf "$jdir"
}
trap cleanup EXIT
ip netns add "$ns"
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$host_ip/30" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up
libs=/usr/lib/x86_64-linux-gnu/janus
cat >"$jdir/janus.jcfg" <<EOF
general: {
  configs_folder = "$jdir"
  plugins_folder = "$libs/plugins"
  transports_folder = "$libs/transports"
  events_folder = "$libs/events"
  loggers_folder = "$libs/loggers"
  debug_level = 3
}
media: { rtp_port_range = "20000-40000" }
nat: { ice_enforce_list = "$ns_if" nice_debug = false }
plugins: {
  disable = "libjanus_audiobridge.so,libjanus_echotest.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so,libjanus_duktape.so,libjanus_lua.so"
}
transports: {
  disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"
}
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
EOF
echo 'general: { }' >"$jdir/janus.plugin.videoroom.jcfg"
cat >"$jdir/janus.transport.websockets.jcfg" <<EOF
general: { json = "compact" ws = true ws_port = $jport ws_ip = "$ns_ip" wss = false }
admin: { admin_ws = false admin_wss = false }
EOF
ip netns exec "$ns" janus -C "$jdir/janus.jcfg" -F "$jdir" >/tmp/veet-bench-janus.log 2>&1 &
jpid=$!
for _ in $(seq 100); do
  (echo >"/dev/tcp/$ns_ip/$jport") 2>/dev/null && break
  sleep 0.1
done

figure() { grep -E "^$2" <<<"$1" | head -1 | sed "s#^$2##" | grep -oE "[0-9]+(\.[0-9]+)?" | head -1; }

# One `veet loadtest` run against `veet` or `janus`; its report.
load() {
  local target=$1; shift
  if [[ $target == veet ]]; then
    RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --node-pid "$pid" "$@" 2>&1 || true
  else
    RUST_LOG=error "$veet" loadtest --url "ws://127.0.0.1:$port/ws" --node-pid "$jpid" \
      --target janus --janus-url "ws://$ns_ip:$jport" --janus-bind-ip "$host_ip" "$@" 2>&1 || true
  fi
}

# The largest room (n publishers, everyone receiving everyone) `target` holds under 1 % loss:
# n grows until a run loses 1 % or more. Prints n and that run's figures.
largest() {
  local target=$1 best=0 at="" n out loss
  for n in ${ROOM_SIZES:-8 12 16 20 24 28 32}; do
    out=$(load "$target" --duration "${PROBE:-10s}" --rooms 1 --publishers "$n")
    loss=$(figure "$out" "loss:" || true)
    if [[ -z "$loss" ]] || ! awk "BEGIN{exit !($loss < 1)}"; then
      echo "  $target: $n publishers lost ${loss:-everything}%" >&2
      break
    fi
    best=$n
    at="$(figure "$out" "forwarded:" || true) packets/s, cpu $(figure "$out" "node cpu:" || true)%, loss $loss%"
  done
  echo "$best ($at)"
}

scenario() {
  local name=$1; shift
  echo "=== $name, $duration"
  local v j
  v=$(load veet --duration "$duration" "$@")
  j=$(load janus --duration "$duration" "$@")
  printf '%-32s %14s %14s %8s\n' "" veet janus veet/janus
  for key in "forwarded:" "node cpu:" "node cpu per forwarded packet:" "loss:" \
    "latency p50/p99:" "join to first media p50/p99:" "node memory per subscribed track:"; do
    local a b ratio=""
    a=$(figure "$v" "$key" || true)
    b=$(figure "$j" "$key" || true)
    if [[ -n "$a" && -n "$b" ]] && awk "BEGIN{exit !($b > 0)}"; then
      ratio=$(awk "BEGIN{printf \"%.2f\", $a / $b}")
    fi
    printf '%-32s %14s %14s %8s\n' "$key" "${a:-n/a}" "${b:-n/a}" "$ratio"
  done
  # Packets per CPU-second: the figure the issue's target (≥ 2× Janus) is about.
  local va vb ja jb
  va=$(figure "$v" "forwarded:" || true); vb=$(figure "$v" "node cpu:" || true)
  ja=$(figure "$j" "forwarded:" || true); jb=$(figure "$j" "node cpu:" || true)
  if [[ -n "$va" && -n "$vb" && -n "$ja" && -n "$jb" ]]; then
    awk "BEGIN{v=$va/($vb/100); j=$ja/($jb/100); printf \"%-32s %14.0f %14.0f %8.2f\n\", \"packets per CPU-second\", v, j, v/j}"
  fi
}

scenario "1 room × 10 publishers" --rooms 1 --publishers 10
scenario "1 publisher → 50 subscribers" --rooms 1 --publishers 1 --subscribers 50
scenario "10 rooms × 4 publishers" --rooms 10 --publishers 4

echo "=== largest room under 1 % loss, ${PROBE:-10s} per size"
lv=$(largest veet)
lj=$(largest janus)
printf '%-32s %s\n' "veet: publishers" "$lv" "janus: publishers" "$lj"
awk -v a="${lv%% *}" -v b="${lj%% *}" 'BEGIN{if (b > 0) printf "%-32s %.2f\n", "veet/janus", a / b}'
