#!/bin/sh
# compare.sh runs bench/load against a Monobase binary and against the bare
# baseline server, one scenario and concurrency at a time, and prints for
# each the requests per second and the server's CPU time per request (user
# + system, read from /proc), which other processes on the machine disturb
# far less than throughput.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/baseline ./bench/baseline
#   go build -o /tmp/load ./bench/load
#   sh bench/baseline/compare.sh /tmp/monobase /tmp/baseline /tmp/load [duration]
#
# Either binary may be "-" to skip it. Servers listen on 127.0.0.1:18090
# (Monobase) and 127.0.0.1:18091 (baseline), use fresh temporary folders and
# are stopped at the end.
set -eu
MB=$1 BASE=$2 LOAD=$3 DUR=${4:-5s}
CLIENTS=${CLIENTS:-1 16 64}
SCENARIOS=${SCENARIOS:-byid page create}
TICK=$(getconf CLK_TCK)

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME PID URL EXTRA...: one line per scenario and concurrency.
measure() {
	name=$1 pid=$2 url=$3
	shift 3
	for sc in $SCENARIOS; do
		for n in $CLIENTS; do
			c0=$(cpu "$pid")
			out=$("$LOAD" -url "$url" -keep -scenarios "$sc" -clients "$n" -duration "$DUR" -warmup 0 "$@" | awk -v sc="$sc" '$1 == sc')
			c1=$(cpu "$pid")
			echo "$out" | awk -v name="$name" -v c="$((c1 - c0))" -v tick="$TICK" -v la="$(cut -d' ' -f1 /proc/loadavg)" \
				'{ printf "%-9s %-7s %7s %9s %8s %9s %9s %7s %11.0f %6s\n", name, $1, $2, $3, $4, $5, $6, $7, c / tick * 1e6 / ($3 > 0 ? $3 : 1), la }'
		done
	done
}

printf "%-9s %-7s %7s %9s %8s %9s %9s %7s %11s %6s\n" server scenario clients requests req/s p50 p99 errors "cpu-µs/req" load1

if [ "$MB" != "-" ]; then
	dir=$(mktemp -d)
	"$MB" superuser upsert admin@example.com admin-password --dir "$dir" >/dev/null
	"$MB" serve --http 127.0.0.1:18090 --dir "$dir" >"$dir/serve.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null || true' EXIT
	for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18090/health && break; sleep 0.1; done
	# set up and seed once (the first run recreates the collections), and warm up
	"$LOAD" -url http://127.0.0.1:18090 -admin-email admin@example.com -admin-password admin-password \
		-scenarios byid,page,create -clients 16 -duration 300ms -warmup 0 >/dev/null
	measure monobase "$pid" http://127.0.0.1:18090 -admin-email admin@example.com -admin-password admin-password
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
fi

if [ "$BASE" != "-" ]; then
	dir=$(mktemp -d)
	"$BASE" -http 127.0.0.1:18091 -dir "$dir" >"$dir/serve.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null || true' EXIT
	for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18091/health && break; sleep 0.1; done
	"$LOAD" -url http://127.0.0.1:18091 -keep -admin-email x -admin-password y \
		-scenarios byid,page,create -clients 16 -duration 300ms -warmup 0 >/dev/null
	measure baseline "$pid" http://127.0.0.1:18091 -admin-email x -admin-password y
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
fi
