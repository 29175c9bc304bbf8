#!/usr/bin/env bash
# Monobase's test command (README "Quick start"):
#   gofmt check, go vet, go test (-race for ./subscriptions/...,
#   ./transport, ./ratelimit and the dynschema subscription tests; the
#   abuse suite in ./abuse runs here against the real binary), bounded fuzz runs of the filter parser and
#   the /graphql handler, then the Node end-to-end suite (Apollo
#   Client, urql, graphql-ws, apollo-upload-client, the graphql-http audit,
#   the playground, the dashboard and the OAuth2 redirect flow in headless
#   Chromium) against the real binary. Before the Go part it rebuilds the
#   dashboard (dashboard/web) and fails when dashboard/dist differs.
# Installs what the tests need when it is missing (Chromium from Debian,
# the e2e packages with npm ci). Exits non-zero on any failure; the last
# line counts the tests: "test.sh: N passed, M failed" (a failed step such
# as gofmt or vet counts as one failure).
#
# Environment: FUZZTIME (default 300000x: a count of inputs, 5 to 45 s
# here) for the filter parser, HANDLER_FUZZTIME (default 20000x, about
# 10 s) for the /graphql handler, SKIP_E2E=1 to run the Go part only.
set -uo pipefail
cd "$(dirname "$0")/.."

# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" when time runs out while a worker is
# busy, with no failing input (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME="${FUZZTIME:-300000x}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
counts="$work/counts"
: >"$counts"
failed_steps=()
extra_failures=0 # failed steps whose failures no test count shows
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
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

step "go test ./... (subscriptions and their fan-out with -race)"
pkgs=$(go list ./... | grep -v '/subscriptions')
go test -json -count=1 -timeout 5m $pkgs 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test"
go test -json -count=1 -timeout 5m -race ./subscriptions/... 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race ./subscriptions/..."
# The subscription fan-out (dynschema/sub_batch.go) is concurrent too.
go test -json -count=1 -timeout 5m -race -run 'Subscription|WebSocket' ./dynschema 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race (dynschema subscriptions)"
# The transports (sockets, batched writes) and the sign-in limiter too.
go test -json -count=1 -timeout 5m -race ./transport ./ratelimit 2>&1 | node scripts/gotest-report.mjs "$counts"
[[ ${PIPESTATUS[0]} == 0 ]] || runner_failed "go test -race ./transport ./ratelimit"

# Bounded fuzz runs: the filter parser, and the /graphql handler (any body
# gets a small JSON answer, never a 500 or an internal error).
step "fuzz db/filter FuzzParse for $FUZZTIME"
go test ./db/filter -run '^$' -fuzz '^FuzzParse$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s || fail "fuzz FuzzParse"
step "fuzz dynschema FuzzHandler for ${HANDLER_FUZZTIME:-20000x}"
go test ./dynschema -run '^$' -fuzz '^FuzzHandler$' -fuzztime "${HANDLER_FUZZTIME:-20000x}" -fuzzminimizetime 5s || fail "fuzz FuzzHandler"

# --- end-to-end ----------------------------------------------------------
if [[ $need_e2e == 1 ]]; then
  step "e2e (node --test) against the real binary"
  if go build -o "$work/monobase" ./cmd/monobase; then
    mkdir -p e2e/artifacts
    rm -f e2e/artifacts/e2e.tap
    (
      cd e2e &&
        MONOBASE_BIN="$work/monobase" node --test \
          --test-reporter=spec --test-reporter-destination=stdout \
          --test-reporter=tap --test-reporter-destination=artifacts/e2e.tap
    )
    e2e_status=$?
    p=$(grep -Eo '^# pass [0-9]+' e2e/artifacts/e2e.tap 2>/dev/null | awk '{print $3}' | tail -1)
    f=$(grep -Eo '^# fail [0-9]+' e2e/artifacts/e2e.tap 2>/dev/null | awk '{print $3}' | tail -1)
    echo "${p:-0} ${f:-0}" >>"$counts"
    echo "e2e: ${p:-0} passed, ${f:-0} failed"
    [[ $e2e_status == 0 ]] || runner_failed "e2e"
  else
    fail "go build ./cmd/monobase"
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
echo "took $(($(date +%s) - start))s"
if ((${#failed_steps[@]})); then
  printf 'failed steps: %s\n' "$(IFS=,; echo "${failed_steps[*]}")"
fi
echo "test.sh: $passed passed, $failed failed"
((failed == 0))
