#!/bin/sh
# compare.sh runs every case of the abuse suite (./abuse) against a given
# monobase binary, each case on a freshly started server, and prints one
# line per case: name, time, the server's peak RSS during the case, and
# whether the binary passed it. Run it for an old and a new build to get a
# before/after table.
#
#   go build -o /tmp/old ./cmd/monobase   # at the old commit
#   sh bench/abuse/compare.sh /tmp/old
#
# Cases that hang an old build end at the harness's 30 s client timeout.
set -eu
BIN=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/abuse.test" "$root/abuse"
cd "$root/abuse"
# The case names, from one run of the suite on this tree's own build.
"$work/abuse.test" -test.run TestAbuse -test.v 2>&1 |
	sed -n 's/^ *--- [A-Z]*: TestAbuse\/\([^ ]*\) .*/\1/p' | grep -v / >"$work/names" || true
printf '%-62s %9s %10s %s\n' case time peak-RSS verdict
while IFS= read -r name; do
	# Each part of a subtest pattern is a regular expression: escape it.
	pat=$(printf '%s' "$name" | sed 's/[][\\.^$*+?(){}|]/\\&/g')
	out=$(ABUSE_BIN=$BIN "$work/abuse.test" -test.run "TestAbuse/^$pat\$" -test.v -test.timeout 200s 2>&1 || true)
	took=$(printf '%s\n' "$out" | sed -n 's/.*case took \([^,]*\), server peak RSS \(.*\)$/\1 \2/p' | head -1)
	verdict=FAIL
	printf '%s\n' "$out" | grep -q -- "--- PASS: TestAbuse/" && verdict=PASS
	printf '%-62s %9s %10s %s\n' "$name" "${took%% *}" "${took#* }" "$verdict"
done <"$work/names"
