#!/usr/bin/env bash
# Leak check of an idle 3-node cluster (protoactor upstream #1110): starts
# three vsmnode processes on loopback, samples each one's RSS (/proc) and
# goroutines (go_goroutines on /metrics) every INTERVAL seconds for
# DURATION seconds, prints a table and the first/last figures, then stops
# them. Not part of CI (it takes DURATION seconds):
#
#   scripts/cluster-soak.sh              # 10 minutes, a sample every 30 s
#   DURATION=60 INTERVAL=10 scripts/cluster-soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-30}
BASE=${BASE:-7300}
bin=$(mktemp -d)/vsmnode
go build -o "$bin" ./cmd/vsmnode
seeds="127.0.0.1:$((BASE + 21)),127.0.0.1:$((BASE + 22)),127.0.0.1:$((BASE + 23))"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
for i in 1 2 3; do
	VSM_NODE_NAME=n$i VSM_ADMIN_ADDR=127.0.0.1:$((BASE + i)) VSM_CLUSTER_PORT=$((BASE + 10 + i)) \
		VSM_CLUSTER_GOSSIP_PORT=$((BASE + 20 + i)) VSM_CLUSTER_SEEDS=$seeds \
		"$bin" run --log-level warn >"$bin.n$i.log" 2>&1 &
	pids+=($!)
done
for i in 1 2 3; do
	until curl -sf "http://127.0.0.1:$((BASE + i))/livez" >/dev/null; do sleep 0.2; done
done
sample() { # prints "rss_kib goroutines" of node i
	local i=$1
	local pid=${pids[$((i - 1))]}
	local rss gor
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	gor=$(curl -sf "http://127.0.0.1:$((BASE + i))/metrics" | awk '/^go_goroutines / {print $2}')
	echo "$rss $gor"
}
printf '%6s  %-22s %-22s %-22s\n' "t(s)" "n1 rss_KiB goroutines" "n2 rss_KiB goroutines" "n3 rss_KiB goroutines"
start=$(date +%s)
while :; do
	t=$(($(date +%s) - start))
	printf '%6d  %-22s %-22s %-22s\n' "$t" "$(sample 1)" "$(sample 2)" "$(sample 3)"
	[ "$t" -ge "$DURATION" ] && break
	sleep "$INTERVAL"
done
members=$(curl -sf "http://127.0.0.1:$((BASE + 1))/api/v1/cluster" | grep -o '"status"' | wc -l)
echo "members seen by n1 at the end: $members"
