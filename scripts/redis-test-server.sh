#!/bin/sh
# Start or stop a throwaway redis-server for the Redis backend's tests.
#
#   eval "$(scripts/redis-test-server.sh start)"   # exports VSM_REDIS_ADDR
#   go test -race ./actors/redisstore/...
#   scripts/redis-test-server.sh stop
#
# start installs Debian's redis-server when it is missing, runs it on a free
# loopback port with no persistence, and prints the export line. The state
# (pid file, port) lives in $VSM_REDIS_DIR (default /tmp/vsm-redis-test).
set -eu

dir=${VSM_REDIS_DIR:-/tmp/vsm-redis-test}
pidfile=$dir/redis.pid
portfile=$dir/port

free_port() {
	# Ask the kernel for a free port; fall back to scanning from 6390.
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	p=6390
	while ss -ltn 2>/dev/null | grep -q "[:.]$p "; do p=$((p + 1)); done
	echo $p
}

install() {
	command -v redis-server >/dev/null 2>&1 && return 0
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "installing redis-server" >&2
	if ! $sudo apt-get install -y redis-server >&2; then
		$sudo apt-get update >&2
		$sudo apt-get install -y redis-server >&2
	fi
}

start() {
	install
	mkdir -p "$dir"
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "export VSM_REDIS_ADDR=127.0.0.1:$(cat "$portfile")"
		return 0
	fi
	port=$(free_port)
	redis-server --save "" --appendonly no --bind 127.0.0.1 --port "$port" \
		--daemonize yes --pidfile "$pidfile" --dir "$dir" \
		--logfile "$dir/redis.log" >&2
	echo "$port" >"$portfile"
	i=0
	until redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "redis-server did not answer on port $port; see $dir/redis.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "export VSM_REDIS_ADDR=127.0.0.1:$port"
}

stop() {
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	rm -f "$pidfile" "$portfile"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
