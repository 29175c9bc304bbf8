#!/bin/sh
# Same-run figures of the two engines: reads by id, pages of 50 posts with
# their author, and creates (bench/load), against one server on SQLite and
# then one on PostgreSQL (a fresh schema of $PG, dropped afterwards).
#
#   go build -o /tmp/monobase ./cmd/monobase && go build -o /tmp/load ./bench/load
#   sh bench/engines/run.sh /tmp/monobase /tmp/load [duration]
#
# PG defaults to postgres://postgres@127.0.0.1:5432/postgres.
set -eu
mb=$1
load=$2
dur=${3:-5s}
pg=${PG:-postgres://postgres@127.0.0.1:5432/postgres}
work=$(mktemp -d)
schema="bench_$$"
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"; psql "$pg" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT

run() { # name, extra serve flags...
  name=$1
  shift
  dir="$work/$name"
  "$mb" --dir "$dir" "$@" superuser upsert admin@example.com admin-password >/dev/null
  "$mb" serve --dir "$dir" "$@" --http 127.0.0.1:8391 >"$work/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -fs -o /dev/null http://127.0.0.1:8391/health 2>/dev/null && break
    sleep 0.1
  done
  echo "== $name"
  "$load" -url http://127.0.0.1:8391 -admin-email admin@example.com -admin-password admin-password \
    -clients 1,16,64 -duration "$dur"
  kill $pid
  wait $pid 2>/dev/null || true
}

run sqlite
run postgres --db "$pg?search_path=$schema"
