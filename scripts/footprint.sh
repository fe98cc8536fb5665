#!/usr/bin/env bash
# Start-up time and memory of a real vsmnode with many configured units
# (issue 12, goal 6): BREAKERS circuit breakers and POOLS HTTP pools, pool
# i guarded by breaker i, no Redis. The pools point at the node's own admin
# API on loopback, so nothing else has to run. Prints, from the moment the
# process is launched:
#
#   ready_ms   GET /readyz answered 200
#   serve_ms   the first request through the last pool succeeded
#              (POST /api/v1/pools/<name>/request, GET /livez on the node)
#   cpu_ms     CPU time (user + system) the node had used by then: on a
#              loaded machine a steadier figure than the wall-clock times
#   rss_*      VmRSS when serving and after SETTLE seconds; VmHWM (peak);
#              anon: RssAnon after SETTLE (VmRSS less the pages of the
#              binary and other files, which the kernel can drop and share)
#   heap_MiB   go_memstats_heap_alloc_bytes after SETTLE (live + garbage)
#
# Not part of CI. Figures are only comparable on a quiet machine
# (BENCHMARKS.md); ROUNDS starts repeat it.
#
#   scripts/footprint.sh                         # 10,000 breakers, 1,000 pools
#   BREAKERS=0 POOLS=0 ROUNDS=3 scripts/footprint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BREAKERS=${BREAKERS:-10000}
POOLS=${POOLS:-1000}
SETTLE=${SETTLE:-5}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-7480}
dir=$(mktemp -d)
bin=$dir/vsmnode
go build -o "$bin" ./cmd/vsmnode
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT

cfg=$dir/footprint.yaml
{
	echo "node: {name: footprint}"
	echo "admin: {addr: \"127.0.0.1:$PORT\"}"
	echo "circuit_breakers:"
	[ "$BREAKERS" -eq 0 ] && echo "  {}"
	for ((i = 0; i < BREAKERS; i++)); do
		printf '  b%05d: {failure_threshold: 5, recovery_timeout: 30s}\n' "$i"
	done
	echo "pools:"
	[ "$POOLS" -eq 0 ] && echo "  {}"
	for ((i = 0; i < POOLS; i++)); do
		b=""
		[ "$i" -lt "$BREAKERS" ] && b=$(printf ', circuit_breaker: b%05d' "$i")
		printf '  p%04d: {host: 127.0.0.1, port: %d, size: 4%s}\n' "$i" "$PORT" "$b"
	done
} >"$cfg"
"$bin" config check "$cfg" >/dev/null

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
last=$(printf 'p%04d' $((POOLS - 1)))
printf '%-6s %-9s %-9s %-7s %-14s %-15s %-8s %-9s %-9s\n' round ready_ms serve_ms cpu_ms rss_serve_MiB rss_settle_MiB hwm_MiB anon_MiB heap_MiB
for ((r = 1; r <= ROUNDS; r++)); do
	t0=$(date +%s%N)
	"$bin" run --config "$cfg" --log-level warn >"$dir/node.log" 2>&1 &
	pid=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
		kill -0 "$pid" 2>/dev/null || { cat "$dir/node.log"; exit 1; }
		sleep 0.01 # leave the CPUs to the node
	done
	ready=$(ms_since "$t0")
	serve=$ready
	if [ "$POOLS" -gt 0 ]; then
		until curl -sf -o /dev/null -X POST -d '{"method": "GET", "path": "/livez"}' \
			"http://127.0.0.1:$PORT/api/v1/pools/$last/request"; do
			kill -0 "$pid" 2>/dev/null || { cat "$dir/node.log"; exit 1; }
			sleep 0.01
		done
		serve=$(ms_since "$t0")
	fi
	# utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks.
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$pid/stat")
	rss_serve=$(kib VmRSS)
	sleep "$SETTLE"
	rss_settle=$(kib VmRSS) hwm=$(kib VmHWM) anon=$(kib RssAnon)
	# After the RSS: a scrape of 10,000 breakers' series allocates.
	heap=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^go_memstats_heap_alloc_bytes / {printf "%d", $2 / 1048576}')
	printf '%-6s %-9s %-9s %-7s %-14s %-15s %-8s %-9s %-9s\n' "$r" "$ready" "$serve" "$cpu" \
		$((rss_serve / 1024)) $((rss_settle / 1024)) $((hwm / 1024)) $((anon / 1024)) "$heap"
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
done
