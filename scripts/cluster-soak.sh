#!/usr/bin/env bash
# Leak check of an idle 3-node cluster (protoactor upstream #1110): starts
# three vsmnode processes on loopback, samples each one's RSS (/proc), Go
# heap in use (go_memstats_heap_inuse_bytes) and goroutines (go_goroutines
# on /metrics) every INTERVAL seconds for
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
sample() { # prints "rss_KiB heap_KiB goroutines" of node i
	local i=$1
	local pid=${pids[$((i - 1))]}
	local rss m
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	m=$(curl -sf "http://127.0.0.1:$((BASE + i))/metrics" |
		awk '/^go_memstats_heap_inuse_bytes / {h=$2} /^go_goroutines / {g=$2} END {printf "%d %d", h/1024, g}')
	echo "$rss $m"
}
printf '%6s  %-20s %-20s %-20s\n' "t(s)" "n1 rss heap gor" "n2 rss heap gor" "n3 rss heap gor"
start=$(date +%s)
while :; do
	t=$(($(date +%s) - start))
	printf '%6d  %-20s %-20s %-20s\n' "$t" "$(sample 1)" "$(sample 2)" "$(sample 3)"
	[ "$t" -ge "$DURATION" ] && break
	sleep "$INTERVAL"
done
alive=$(curl -sf "http://127.0.0.1:$((BASE + 1))/api/v1/cluster" | grep -o '"status": *"alive"' | wc -l)
echo "members alive as n1 sees them at the end: $alive"
