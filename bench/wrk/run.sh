#!/bin/sh
# run.sh measures by-id reads and 50-post pages with wrk (a lean C load
# generator, Debian package "wrk") against Monobase and the bare baseline,
# 16 connections for 8 s each, on 127.0.0.1 only. It seeds both servers with
# bench/load first and stops them at the end.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/baseline ./bench/baseline
#   go build -o /tmp/load ./bench/load
#   sh bench/wrk/run.sh /tmp/monobase /tmp/baseline /tmp/load
set -eu
MB=$1 BASE=$2 LOAD=$3
DUR=${DUR:-8s} CONNS=${CONNS:-16}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null || true; rm -rf "$work"' EXIT

wait_health() { for _ in $(seq 50); do curl -sf -o /dev/null "$1/health" && return; sleep 0.1; done; }

# bodies URL: writes the wrk scripts for one server, reading a seeded post id.
bodies() {
	id=$(curl -s "$1/graphql" -H 'Content-Type: application/json' \
		-d '{"query":"query($o: Int!) { benchPosts(limit: 50, offset: $o) { id } }","variables":{"o":0}}' |
		sed -n 's/.*"id":"\([a-z0-9]*\)".*/\1/p')
	printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
		"'{\"query\":\"query(\$id: ID!) { benchPost(id: \$id) { id title views published created } }\",\"variables\":{\"id\":\"$id\"}}'" >"$work/byid.lua"
	printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
		"'{\"query\":\"query(\$o: Int!) { benchPosts(limit: 50, offset: \$o) { id title views published author { id name } } }\",\"variables\":{\"o\":100}}'" >"$work/page.lua"
}

run() {
	for sc in byid page; do
		printf '%-9s %-5s ' "$1" "$sc"
		wrk -t2 -c"$CONNS" -d"$DUR" -s "$work/$sc.lua" "$2/graphql" | awk '/Requests\/sec/ {printf "%s req/s", $2} /Non-2xx/ {printf " (%s non-2xx)", $4} END {print ""}'
	done
}

mkdir "$work/mb" "$work/base"
"$MB" superuser upsert admin@example.com admin-password --dir "$work/mb" >/dev/null
"$MB" serve --http 127.0.0.1:18090 --dir "$work/mb" >"$work/mb.log" 2>&1 &
pids="$pids $!"
wait_health http://127.0.0.1:18090
"$LOAD" -url http://127.0.0.1:18090 -admin-email admin@example.com -admin-password admin-password \
	-scenarios byid,page -clients 4 -duration 300ms -warmup 0 >/dev/null
bodies http://127.0.0.1:18090
run monobase http://127.0.0.1:18090

"$BASE" -http 127.0.0.1:18091 -dir "$work/base" >"$work/base.log" 2>&1 &
pids="$pids $!"
wait_health http://127.0.0.1:18091
"$LOAD" -url http://127.0.0.1:18091 -keep -admin-email x -admin-password y \
	-scenarios byid,page -clients 4 -duration 300ms -warmup 0 >/dev/null
bodies http://127.0.0.1:18091
run baseline http://127.0.0.1:18091
