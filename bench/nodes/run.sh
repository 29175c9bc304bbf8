#!/usr/bin/env bash
# Cross-node delivery latency: two `monobase serve` nodes on one fresh
# PostgreSQL schema (files on an in-memory S3, as several nodes require),
# N subscribers on node B, writes on node A (bench/subscribers -write-url).
#
#   bench/nodes/run.sh                      # LISTEN/NOTIFY, 1,000 subscribers
#   EVENTS=nats://127.0.0.1:4222 bench/nodes/run.sh
#   N=1000 WRITES=2000 RATE=200 bench/nodes/run.sh
#   WRITE_ON=b bench/nodes/run.sh           # baseline: writes on B itself
#
# Needs PostgreSQL (PG, default the local server) and, for NATS, a NATS
# server. Every step is bounded in time; the schema is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG=${PG:-postgres://postgres@127.0.0.1:5432/postgres}
EVENTS=${EVENTS:-postgres}
N=${N:-1000}
WRITES=${WRITES:-1000}
RATE=${RATE:-100}
WRITE_ON=${WRITE_ON:-a}
WPORT=18091
[[ $WRITE_ON == b ]] && WPORT=18092
SCHEMA=bench_nodes_$$
DSN="$PG?search_path=$SCHEMA"
[[ $PG == *\?* ]] && DSN="$PG&search_path=$SCHEMA"
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	psql "$PG" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/monobase" ./cmd/monobase
go build -o "$TMP/fakes3" ./internal/s3test/fakes3
go build -o "$TMP/subscribers" ./bench/subscribers

"$TMP/fakes3" -addr 127.0.0.1:0 -bucket files >"$TMP/s3.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do S3=$(head -1 "$TMP/s3.out" 2>/dev/null | grep -o 'http://[0-9.:]*' || true); [[ -n $S3 ]] && break; sleep 0.1; done

MB=("$TMP/monobase" --db "$DSN")
"${MB[@]}" --dir "$TMP/a" superuser upsert admin@example.com admin-password >/dev/null
wait_up() { for _ in $(seq 100); do curl -fs "http://$1/health" >/dev/null 2>&1 && return; sleep 0.1; done; echo "node $1 did not start" >&2; exit 1; }
"${MB[@]}" --dir "$TMP/a" serve --http 127.0.0.1:18091 --events "$EVENTS" >"$TMP/a.log" 2>&1 &
PIDS+=($!)
wait_up 127.0.0.1:18091

gql() { curl -fsS -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "http://127.0.0.1:18091$1"; }
TOKEN=$(gql /graphql/admin '{"query":"mutation { authWithPassword(email: \"admin@example.com\", password: \"admin-password\") { token } }"}' |
	sed 's/.*"token":"\([^"]*\)".*/\1/')
gql /graphql/admin "{\"query\":\"mutation { updateSettings(input: {s3: {enabled: true, bucket: \\\"files\\\", region: \\\"us-east-1\\\", endpoint: \\\"$S3\\\", accessKey: \\\"monobase-test\\\", secret: \\\"monobase-test-secret\\\", forcePathStyle: true}}) { s3 { enabled } } }\"}" "$TOKEN" >/dev/null

# The collection bench/subscribers uses, created before B starts.
gql /graphql/admin '{"query":"mutation { createCollection(input: {name: \"posts\", type: BASE, listRule: \"\", viewRule: \"\", createRule: \"\", fields: [{name: \"title\", type: TEXT}]}) { id } }"}' "$TOKEN" >/dev/null

"${MB[@]}" --dir "$TMP/b" serve --http 127.0.0.1:18092 --events "$EVENTS" --max-sockets-per-ip $((N + 100)) >"$TMP/b.log" 2>&1 &
PIDS+=($!)
BPID=$!
wait_up 127.0.0.1:18092

echo "events: $EVENTS  subscribers on B: $N  writes on ${WRITE_ON^^}: $WRITES at $RATE/s"
timeout 300 "$TMP/subscribers" -url ws://127.0.0.1:18092/graphql -write-url ws://127.0.0.1:$WPORT/graphql \
	-admin-email admin@example.com -admin-password admin-password -n "$N" -events "$WRITES" -rate "$RATE" \
	-duration 240s -pid "$BPID"
