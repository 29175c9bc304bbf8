#!/bin/sh
# afterload.sh measures a Monobase server's idle memory after bench/load's
# full run: it seeds 1,000 users and 19,000 posts, runs reads by id, pages
# and creates at 1, 16 and 64 clients for 3 s each, then prints the
# server's VmRSS and RssAnon every 10 s for 30 s.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/load ./bench/load
#   sh bench/memory/afterload.sh /tmp/monobase /tmp/load [PORT]
set -eu
BIN=$1 LOAD=$2 PORT=${3:-18094}
dir=$(mktemp -d)
"$BIN" superuser upsert admin@example.com admin-password --dir "$dir/data" >/dev/null
"$BIN" serve --http "127.0.0.1:$PORT" --dir "$dir/data" >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
"$LOAD" -url "http://127.0.0.1:$PORT" -admin-email admin@example.com -admin-password admin-password \
	-users 1000 -posts 19000 -duration 3s -warmup 0 >"$dir/load.txt"
for t in 10 20 30; do
	sleep 10
	printf '%ss idle: %s\n' "$t" "$(grep -E 'VmRSS|RssAnon' "/proc/$pid/status" | tr -s ' \t\n' ' ')"
done
