#!/usr/bin/env bash
# Takes the figures quoted in BENCHMARKS.md. Each suite's test binary is
# built once, then the suites run round after round (-count 1 per round),
# so that a burst of noise on this shared 2-vCPU machine lands on every
# peer of a suite alike; the peers of a benchmark are sub-benchmarks of one
# function, so each round gives a ratio.
#
#   scripts/bench.sh [-rounds N] [-pin] [-append] suite...    # suites: see spec()
#   benchstat benchdata/<suite>.txt
#
# -pin runs every binary under `taskset -c 0`, removing the cost of waking
# the other vCPU from round trips (see BENCHMARKING notes in BENCHMARKS.md).
# Output goes to benchdata/<suite>[-pinned].txt (-append adds more rounds
# to it instead of starting it again). Redis suites start their own
# redis-server. Check that the machine is quiet first (uptime).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
pin=""
append=""
while [ $# -gt 0 ]; do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-pin) pin="taskset -c 0"; shift ;;
	-append) append=1; shift ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [-rounds N] [-pin] suite..." >&2; exit 2; }

# suite -> package and benchmark pattern, plus extra flags.
spec() {
	case $1 in
	breaker) echo "./breaker BenchmarkBreaker(Call|Open) -test.benchmem" ;;
	breaker-actor) echo "./actors/breakeractor BenchmarkBreakerActor -test.benchmem" ;;
	http-stack) echo "./actors/httppool BenchmarkHTTPStack -test.benchmem" ;;
	redis) echo "./actors/redisstore BenchmarkRedis(Get|Set)\$ -test.benchmem" ;;
	actor) echo "./systems/s1 BenchmarkActor -test.benchmem" ;;
	algedonic) echo "./algedonic BenchmarkAlgedonic/^(idle|idle-busy|spun|flooded|flooded-elsewhere|busy)\$ -test.benchtime=200x" ;;
	footprint) echo ". BenchmarkNodeFootprint -test.benchtime=1x" ;;
	ws) echo "./actors/ws BenchmarkWSRoundTrip -test.benchmem" ;;
	grpc) echo "./actors/grpcpool BenchmarkGRPCUnary -test.benchmem" ;;
	*) echo "unknown suite $1" >&2; exit 2 ;;
	esac
}

bin=$(mktemp -d)
# Stop the redis-server (its pid file is under $bin) before removing $bin.
trap 'VSM_REDIS_DIR=$bin/redis scripts/redis-test-server.sh stop >/dev/null 2>&1 || true; rm -rf "$bin"' EXIT
for s in "$@"; do
	read -r pkg _ <<<"$(spec "$s")"
	go test -c -o "$bin/$s.test" "$pkg"
	[ "$s" = redis ] && [ -z "${VSM_REDIS_ADDR:-}" ] && eval "$(VSM_REDIS_DIR=$bin/redis scripts/redis-test-server.sh start)"
	suffix=""
	[ -n "$pin" ] && suffix=-pinned
	[ -n "$append" ] || : >"benchdata/$s$suffix.txt"
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
	for s in "$@"; do
		read -r pkg pattern flags <<<"$(spec "$s")"
		suffix=""
		[ -n "$pin" ] && suffix=-pinned
		# Benchmarks run in their package's directory, as go test does.
		(cd "$pkg" && $pin "$bin/$s.test" -test.run '^$' -test.bench "$pattern" -test.count 1 $flags) |
			grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"benchdata/$s$suffix.txt"
	done
	echo "round $r done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
