#!/bin/sh
# run.sh measures the auth figures of issue 11 against a fresh server in a
# throwaway data folder on 127.0.0.1, then stops it:
#   - password sign-in under 64 concurrent clients: rules off; the default
#     rules with one loopback address per client; the default rules with a
#     flood from one address;
#   - the time from userRequestPasswordReset to the email at an SMTP server.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/authbench ./bench/auth
#   sh bench/auth/run.sh /tmp/monobase /tmp/authbench
#
# Environment: DUR (default 10s) per sign-in scenario, CLIENTS (64), MAILS
# (200), SCENARIOS (signin,signin-ips,signin-flood,mail), PORT (18095).
set -eu
MB=$1 BENCH=$2
DUR=${DUR:-10s} CLIENTS=${CLIENTS:-64} MAILS=${MAILS:-200}
SCENARIOS=${SCENARIOS:-signin,signin-ips,signin-flood,mail} PORT=${PORT:-18095}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

"$MB" superuser upsert admin@example.com admin-password --dir "$work/data" >/dev/null
"$MB" serve --http "127.0.0.1:$PORT" --dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
echo "server: $("$MB" version 2>/dev/null | head -1), $(nproc) cores, bcrypt default cost"
# One client alone first: the time of one sign-in (one bcrypt hash) on this machine.
"$BENCH" -url "http://127.0.0.1:$PORT" -admin-email admin@example.com -admin-password admin-password \
	-scenario signin -clients 1 -duration 3s
"$BENCH" -url "http://127.0.0.1:$PORT" -admin-email admin@example.com -admin-password admin-password \
	-scenario "$SCENARIOS" -clients "$CLIENTS" -duration "$DUR" -mails "$MAILS"
