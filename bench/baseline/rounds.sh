#!/bin/sh
# rounds.sh runs compare.sh for several Monobase builds and the bare
# baseline in alternating rounds and prints, per build and scenario, the
# median requests per second, the median server CPU per request and the
# median of the per-round ratios to the baseline: on a noisy machine the
# ratio of figures taken side by side moves far less than the figures.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/baseline ./bench/baseline
#   go build -o /tmp/load ./bench/load
#   ROUNDS=8 CLIENTS=16 sh bench/baseline/rounds.sh /tmp/baseline /tmp/load new=/tmp/monobase [old=/tmp/old-monobase ...]
#
# ROUNDS (default 6), CLIENTS (default 16), SCENARIOS (default "byid
# page") and DURATION (default 3s) choose the runs; every line of every
# round is kept in $OUT (default a temporary file) for a closer look.
set -eu
BASE=$1 LOAD=$2
shift 2
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-3s}
OUT=${OUT:-$(mktemp)}
export CLIENTS=${CLIENTS:-16} SCENARIOS=${SCENARIOS:-byid page}
here=$(dirname "$0")
: >"$OUT"
for r in $(seq "$ROUNDS"); do
	for build in "$@" "base=$BASE"; do
		name=${build%%=*} bin=${build#*=}
		if [ "$name" = base ]; then
			sh "$here/compare.sh" - "$bin" "$LOAD" "$DURATION"
		else
			sh "$here/compare.sh" "$bin" - "$LOAD" "$DURATION"
		fi | awk -v r="$r" -v n="$name" '$1 == "monobase" || $1 == "baseline" { print r, n, $2, $3, $5, $9 }' >>"$OUT"
	done
done
echo "# $ROUNDS rounds of $DURATION, $CLIENTS clients; all runs in $OUT"
printf "%-8s %-11s %9s %12s %16s\n" build scenario/clients "req/s" "cpu-µs/req" "ratio to base"
# Columns of $OUT: round, build, scenario, clients, req/s, CPU µs per request.
sort -k3,3 -k2,2 -k1,1n "$OUT" | awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $3 "/" $4; rps[$2, k, $1] = $5; cpu[$2, k, $1] = $6; builds[$2] = 1; scen[k] = 1; if ($1 > rounds) rounds = $1 }
END {
	for (s in scen) for (b in builds) {
		n = 0; m = 0
		for (r = 1; r <= rounds; r++) {
			if (!((b, s, r) in rps)) continue
			n++; x[n] = rps[b, s, r]; y[n] = cpu[b, s, r]
			if (b != "base" && (("base", s, r) in rps) && rps["base", s, r] > 0) { m++; z[m] = rps[b, s, r] / rps["base", s, r] }
		}
		if (n == 0) continue
		ratio = m ? sprintf("%.2f", median(z, m)) : "-"
		printf "%-8s %-11s %9.0f %12.0f %16s\n", b, s, median(x, n), median(y, n), ratio
	}
}' | sort -k2,2 -k1,1
