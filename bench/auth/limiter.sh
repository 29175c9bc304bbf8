#!/bin/sh
# limiter.sh measures what the rate limit rules cost on the read benchmark
# (a post by id): the same requests with the rules off and on, in pairs
# run back to back, reporting the median ratio on/off of the pairs.
# "On" is the default rules with /graphql raised to 10^9 per 10 s, so that
# nothing is refused: each request still goes through the /graphql path
# rule (one limiter charge) and the operation rule lookup (benchPost(id:)
# is bench_posts:view, which no rule names).
#
#  1. in process: BenchmarkRateLimitsReadByID (cmd/monobase), the whole
#     served handler without the network, the pairs inside one benchmark
#     (the order flips every pair): medians of ns, CPU ns and allocations
#     per request, and of the ratios on/off;
#  2. a CPU profile of reads with the rules on: the share of the samples
#     in the limiter's functions, which hardly depends on how loaded the
#     machine is (the paired times above do, a lot, on a shared machine);
#  3. over HTTP: wrk (apt-get install -y wrk) against the real binary, 16
#     connections, the rules switched live through updateSettings.
#
#   go build -o /tmp/monobase ./cmd/monobase
#   go build -o /tmp/load ./bench/load
#   sh bench/auth/limiter.sh /tmp/monobase /tmp/load
#
# Environment: PAIRS (default 30 in process), WRK_PAIRS (6 over HTTP), DUR
# (wrk time per run, 5s), PROFILE (the profiled run, 20s), PORT (18096),
# SKIP_WRK=1.
set -eu
MB=$1 LOAD=$2
PAIRS=${PAIRS:-30} WRK_PAIRS=${WRK_PAIRS:-6} DUR=${DUR:-5s} PORT=${PORT:-18096}
OFF='{enabled: false}'
ON='{enabled: true, rules: [{label: \"*:auth\", maxRequests: 2, duration: 3}, {label: \"*:create\", maxRequests: 20, duration: 5}, {label: \"/graphql\", maxRequests: 1000000000, duration: 10}]}'
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$(dirname "$0")/../.."

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "== in process: $PAIRS pairs of 2,000 reads, rules off and on (BenchmarkRateLimitsReadByID)"
go test ./internal/server -run '^$' -bench 'RateLimitsReadByID$' -benchtime "${PAIRS}x" 2>/dev/null |
	awk '/^BenchmarkRateLimitsReadByID/ {for (i = 3; i < NF; i += 2) printf "  %s %s\n", $(i+1), $i}'

echo "== the limiter's share of the CPU samples of reads with the rules on (BenchmarkRateLimitsOnReadByID, ${PROFILE:-20s})"
go test -c -o "$work/mb.test" ./internal/server
(cd "$work" && ./mb.test -test.run '^$' -test.bench 'RateLimitsOnReadByID$' -test.benchtime "${PROFILE:-20s}" -test.cpuprofile "$work/cpu.out" 2>/dev/null | grep '^Benchmark' | sed 's/^/  /')
go tool pprof -top -focus 'ratelimit\.(ClientIP|\(\*Rules\)\.Operation|\(\*ruleSet\)\.path|\(\*limitRule\)\.take|\(\*Limiter\)\.Allow|\(\*labelRules\)\.forCaller)' \
	"$work/mb.test" "$work/cpu.out" 2>/dev/null | sed -n 's/^Showing nodes accounting for \(.*\)/  limiter: \1/p'

[ "${SKIP_WRK:-}" = 1 ] && exit 0
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
echo "== over HTTP: $WRK_PAIRS pairs of wrk -t2 -c16 -d$DUR, alternating which runs first"
URL=http://127.0.0.1:$PORT
"$MB" superuser upsert admin@example.com admin-password --dir "$work/data" >/dev/null
"$MB" serve --http "127.0.0.1:$PORT" --dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "$URL/health" && break; sleep 0.1; done
"$LOAD" -url "$URL" -admin-email admin@example.com -admin-password admin-password \
	-scenarios byid -clients 4 -duration 300ms -warmup 0 >/dev/null
token=$(curl -s "$URL/graphql/admin" -H 'Content-Type: application/json' \
	-d '{"query":"mutation { authWithPassword(email: \"admin@example.com\", password: \"admin-password\") { token } }"}' |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
rules() {
	curl -sf "$URL/graphql/admin" -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
		-d "{\"query\":\"mutation { updateSettings(input: {rateLimits: $1}) { rateLimits { enabled } } }\"}" >/dev/null
}
id=$(curl -s "$URL/graphql" -H 'Content-Type: application/json' -d '{"query":"{ benchPosts(limit: 1) { id } }"}' |
	sed -n 's/.*"id":"\([a-z0-9]*\)".*/\1/p')
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
	"'{\"query\":\"query(\$id: ID!) { benchPost(id: \$id) { id title views published created } }\",\"variables\":{\"id\":\"$id\"}}'" >"$work/byid.lua"
rps() {
	rules "$1"
	wrk -t2 -c16 -d"$DUR" -s "$work/byid.lua" "$URL/graphql" | awk '/Requests\/sec/ {r=$2} /Non-2xx/ {n=$4} END {if (n) print "non-2xx:" n; else print r}'
}
: >"$work/wrk"
for i in $(seq "$WRK_PAIRS"); do
	if [ $((i % 2)) = 1 ]; then off=$(rps "$OFF"); on=$(rps "$ON"); else on=$(rps "$ON"); off=$(rps "$OFF"); fi
	echo "  pair $i: off $off req/s, on $on req/s"
	echo "$off $on" >>"$work/wrk"
done
echo "  median ratio on/off of req/s: $(awk '{print $2/$1}' "$work/wrk" | median)"
