#!/bin/sh
# run.sh starts Monobase (and PocketBase when given) in fresh temporary data
# folders on 127.0.0.1:18190 and :18191, runs bench/files against them, and
# stops them. Extra arguments go to bench/files.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/filesbench ./bench/files
#   sh bench/files/run.sh /tmp/monobase /tmp/pb/pocketbase /tmp/filesbench   # or "-" for no PocketBase
set -eu
MB=$1 PB=$2 BENCH=$3
shift 3
dir=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
wait_health() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

"$MB" superuser upsert admin@example.com admin-password --dir "$dir/mb" >/dev/null
"$MB" serve --http 127.0.0.1:18190 --dir "$dir/mb" >"$dir/mb.log" 2>&1 &
pids="$pids $!"
wait_health http://127.0.0.1:18190/health
pbflag=""
if [ "$PB" != "-" ]; then
	"$PB" superuser upsert admin@example.com admin-password --dir "$dir/pb" >/dev/null
	"$PB" serve --http 127.0.0.1:18191 --dir "$dir/pb" >"$dir/pb.log" 2>&1 &
	pids="$pids $!"
	wait_health http://127.0.0.1:18191/api/health
	pbflag="-pocketbase http://127.0.0.1:18191"
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$BENCH" -url http://127.0.0.1:18190 $pbflag -admin-email admin@example.com -admin-password admin-password "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
