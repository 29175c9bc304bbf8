#!/usr/bin/env bash
# Monobase's test command (README "Quick start"):
#   gofmt check, go vet, go test (-race for ./subscriptions/...,
#   ./transport, ./ratelimit and the dynschema subscription and prepared-query tests; the
#   abuse suite in ./abuse runs here against the real binary), bounded fuzz runs of the filter parser and
#   the /graphql handler, then the Node end-to-end suite (Apollo
#   Client, urql, graphql-ws, apollo-upload-client, the graphql-http audit,
#   the playground, the dashboard and the OAuth2 redirect flow in headless
#   Chromium) against the real binary. Before the Go part it rebuilds the
#   dashboard (dashboard/web) and fails when dashboard/dist differs.
# Then the same again on PostgreSQL: every Go package whose tests open a
# database (those that depend on internal/testdb) and the e2e suite run a
# second time with MONOBASE_TEST_DB set to a database created for the run
# (monobase_test_<pid>, dropped at the end; each test gets a schema of its
# own in it). PostgreSQL (127.0.0.1:5432, user postgres) and NATS
# (127.0.0.1:4222) are started when they do not answer.
# Installs what the tests need when it is missing (Chromium from Debian,
# the e2e packages with npm ci). Exits non-zero on any failure; the last
# line counts the tests: "test.sh: N passed, M failed" (a failed step such
# as gofmt or vet counts as one failure).
#
# Environment: FUZZTIME (default 300000x: a count of inputs, 5 to 45 s
# here) for the filter parser, HANDLER_FUZZTIME (default 20000x, about
# 10 s) for the /graphql handler, SKIP_E2E=1 to run the Go part only,
# SKIP_PG=1 to run SQLite only, PG_ONLY=1 to run only the PostgreSQL pass
# (with its e2e unless SKIP_E2E=1), PGURL (default
# postgres://postgres@127.0.0.1:5432) the server for the PostgreSQL pass.
set -uo pipefail
cd "$(dirname "$0")/.."

# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" when time runs out while a worker is
# busy, with no failing input (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME="${FUZZTIME:-300000x}"
work="$(mktemp -d)"
pgdb="" # the PostgreSQL database of the run, dropped at exit
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432}"
cleanup() {
  if [[ -n "$pgdb" ]]; then
    psql "$PGURL/postgres" -qAtc "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)" >/dev/null || echo "could not drop database $pgdb" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
counts="$work/counts"
: >"$counts"
failed_steps=()
extra_failures=0 # failed steps whose failures no test count shows
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
# took LABEL SINCE: prints how long a part took (the summary repeats it).
timings=()
took() {
  local secs=$(($(date +%s) - $2))
  timings+=("$1 ${secs}s")
  printf -- '--- %s took %ss\n' "$1" "$secs"
}
fail() {
  failed_steps+=("$1")
  extra_failures=$((extra_failures + 1))
  printf 'FAILED: %s\n' "$1"
}
# runner_failed NAME: a test runner exited non-zero; count it as a failure
# only when its own count (the last line of $counts) shows none.
runner_failed() {
  local last
  last=$(tail -1 "$counts" | awk '{print $2}')
  if [[ "${last:-0}" == 0 ]]; then
    fail "$1"
  else
    failed_steps+=("$1")
    printf 'FAILED: %s\n' "$1"
  fi
}

# --- tools ---------------------------------------------------------------
need_e2e=1
[[ "${SKIP_E2E:-}" == 1 ]] && need_e2e=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are required (Node.js 20+)" >&2
  exit 1
fi
if [[ $need_e2e == 1 && ! -x /usr/bin/chromium && -z "${CHROMIUM_PATH:-}" ]]; then
  step "installing Chromium (Debian package) for the playground browser test"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    fail "install chromium"
  fi
fi
if [[ $need_e2e == 1 ]]; then
  if [[ ! -d e2e/node_modules ]] || ! (cd e2e && npm ls --depth=0 >/dev/null 2>&1); then
    step "npm ci (e2e)"
    (cd e2e && npm ci --no-audit --no-fund) || fail "npm ci"
  fi
fi

# --- services (PostgreSQL and NATS, for the PostgreSQL pass) -------------
# Started with the machine's own commands when they do not answer; then
# waited for (up to 60 s each).
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # NAME CHECK...: waits until CHECK succeeds
  local name=$1
  shift
  for _ in $(seq 1 120); do
    "$@" && return 0
    sleep 0.5
  done
  fail "$name did not answer"
  return 1
}
need_pg=1
[[ "${SKIP_PG:-}" == 1 ]] && need_pg=0
if [[ $need_pg == 1 ]]; then
  step "services: PostgreSQL and NATS"
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
  if ! tcp_open 4222; then
    echo "starting NATS"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  fi
  if wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 && wait_for NATS tcp_open 4222; then
    pgdb="monobase_test_$$"
    if psql "$PGURL/postgres" -qAtc "CREATE DATABASE \"$pgdb\"" >/dev/null; then
      echo "ok: database $pgdb"
    else
      pgdb=""
      fail "create the PostgreSQL test database"
      need_pg=0
    fi
  else
    need_pg=0
  fi
fi

sqlite_pass=1
[[ "${PG_ONLY:-}" == 1 ]] && sqlite_pass=0

# e2e_suite NAME TAP [ENV...]: runs the Node suite against $work/monobase
# with the extra environment, counts its tests from the TAP file.
e2e_suite() {
  local name=$1 tap=$2
  shift 2
  rm -f "e2e/artifacts/$tap"
  (
    cd e2e &&
      env MONOBASE_BIN="$work/monobase" "$@" node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="artifacts/$tap"
  )
  local status=$?
  local p f
  p=$(grep -Eo '^# pass [0-9]+' "e2e/artifacts/$tap" 2>/dev/null | awk '{print $3}' | tail -1)
  f=$(grep -Eo '^# fail [0-9]+' "e2e/artifacts/$tap" 2>/dev/null | awk '{print $3}' | tail -1)
  echo "${p:-0} ${f:-0}" >>"$counts"
  echo "$name: ${p:-0} passed, ${f:-0} failed"
  [[ $status == 0 ]] || runner_failed "$name"
}

if [[ $sqlite_pass == 1 ]]; then
# --- dashboard assets ----------------------------------------------------
# The binary embeds dashboard/dist; it must be what dashboard/web builds
# (Vite's output is deterministic: same sources, same bytes).
step "dashboard assets (vite build, compared with dashboard/dist)"
if [[ ! -d dashboard/web/node_modules ]] || ! (cd dashboard/web && npm ls --depth=0 >/dev/null 2>&1); then
  (cd dashboard/web && npm ci --no-audit --no-fund) || fail "npm ci (dashboard)"
fi
if (cd dashboard/web && npx --no-install vite build --outDir "$work/dashboard-dist" --emptyOutDir --logLevel warn); then
  if diff -r "$work/dashboard-dist" dashboard/dist; then
    echo "ok"
  else
    echo "dashboard assets are stale: run npm run build in dashboard/web"
    fail "dashboard assets"
  fi
else
  fail "dashboard build"
fi

# --- Go ------------------------------------------------------------------
step "gofmt"
unformatted="$(gofmt -l $(git ls-files -co --exclude-standard -- '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/node_modules/*'))"
if [[ -n "$unformatted" ]]; then
  echo "not gofmt-formatted:"
  echo "$unformatted"
  fail "gofmt"
else
  echo "ok"
fi

step "go vet ./..."
go vet ./... || fail "go vet"

t0=$(date +%s)
step "go test ./... (subscriptions and their fan-out with -race)"
pkgs=$(go list ./... | grep -v '/subscriptions')
go test -json -count=1 -timeout 5m $pkgs 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test"
go test -json -count=1 -timeout 5m -race ./subscriptions/... 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race ./subscriptions/..."
# The subscription fan-out (dynschema/sub_batch.go) and the pooled
# operations of prepared queries (dynschema/prepared.go) are concurrent too.
go test -json -count=1 -timeout 5m -race -run 'Subscription|WebSocket|Prepared' ./dynschema 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race (dynschema subscriptions)"
# The transports (sockets, batched writes) and the sign-in limiter too.
go test -json -count=1 -timeout 5m -race ./transport ./ratelimit 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race ./transport ./ratelimit"

took "go test (SQLite, with the -race subsets)" "$t0"

# Bounded fuzz runs: the filter parser, and the /graphql handler (any body
# gets a small JSON answer, never a 500 or an internal error).
t0=$(date +%s)
step "fuzz db/filter FuzzParse for $FUZZTIME"
go test ./db/filter -run '^$' -fuzz '^FuzzParse$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s || fail "fuzz FuzzParse"
step "fuzz dynschema FuzzHandler for ${HANDLER_FUZZTIME:-20000x}"
go test ./dynschema -run '^$' -fuzz '^FuzzHandler$' -fuzztime "${HANDLER_FUZZTIME:-20000x}" -fuzzminimizetime 5s || fail "fuzz FuzzHandler"
took "fuzz" "$t0"

fi

# --- end-to-end ----------------------------------------------------------
if [[ $need_e2e == 1 ]] && ! go build -o "$work/monobase" ./cmd/monobase; then
  fail "go build ./cmd/monobase"
  need_e2e=0
fi
mkdir -p e2e/artifacts
if [[ $need_e2e == 1 && $sqlite_pass == 1 ]]; then
  t0=$(date +%s)
  step "e2e (node --test) against the real binary"
  e2e_suite e2e e2e.tap
  took "e2e (SQLite)" "$t0"
fi

# --- PostgreSQL pass -----------------------------------------------------
# The packages whose tests open a database (they go through
# internal/testdb) and the e2e suite, on a database of this run.
if [[ $need_pg == 1 ]]; then
  pgtest="$PGURL/$pgdb"
  t0=$(date +%s)
  step "go test on PostgreSQL ($pgdb)"
  pgpkgs=$(go list -test -f '{{if .ForTest}}{{.ForTest}} {{join .Deps " "}}{{end}}' ./... | awk '/internal\/testdb/ {print $1}' | sort -u)
  MONOBASE_TEST_DB="$pgtest" go test -json -count=1 -timeout 8m $pgpkgs 2>&1 | node scripts/gotest-report.mjs "$counts"
  [[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test (PostgreSQL)"
  took "go test (PostgreSQL)" "$t0"
  if [[ $need_e2e == 1 ]]; then
    t0=$(date +%s)
    step "e2e on PostgreSQL"
    e2e_suite "e2e (PostgreSQL)" e2e-pg.tap MONOBASE_TEST_DB="$pgtest"
    took "e2e (PostgreSQL)" "$t0"
  fi
fi

# --- summary -------------------------------------------------------------
passed=0
failed=0
while read -r p f; do
  passed=$((passed + p))
  failed=$((failed + f))
done <"$counts"
failed=$((failed + extra_failures))
echo
for t in "${timings[@]}"; do echo "  $t"; done
echo "took $(($(date +%s) - start))s"
if ((${#failed_steps[@]})); then
  printf 'failed steps: %s\n' "$(IFS=,; echo "${failed_steps[*]}")"
fi
echo "test.sh: $passed passed, $failed failed"
((failed == 0))
