#!/usr/bin/env bash
# npm test: every suite, one summary line.
#
#   1. pgTAP (supabase/tests/database/*.sql) with pg_prove on PostgreSQL 17 (embedded)
#      and 15 (Debian), each a fresh database with the stand-in and the migrations; then,
#      on the same server, the notes example's policy tests through scripts/test-policies.sh;
#      and both again on PostgreSQL 15 with a `postgres` that is not a superuser, as hosted
#      Supabase has it (scripts/with-hosted-roles.sh);
#   2. `supabase db lint --level error` with plpgsql_check on PostgreSQL 15;
#   3. vitest (tests/**/*.test.ts; its global setup starts its own PostgreSQL 17);
#   4. typecheck and lint: deno check, deno lint, tsc --noEmit, and the tests' layout
#      (scripts/check-test-layout.ts: nothing outside tests/ imports tests/, one axis per test);
#   5. the protocol model (model/*.pml) checked exhaustively with spin: each property,
#      each known edge and each mutant counts one (scripts/model-check.ts).
#
# Installs what is missing first (apt packages as root, node_modules). The last line is
# exactly "N passed, N failed" (pgTAP counts assertions, vitest counts tests, other
# checks count one each); the exit status is non-zero when anything failed.
# SG_SUITES=pgtap,lint,vitest,types,model runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=node_modules/.bin
APT_PACKAGES=(postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-plpgsql-check spin gcc)
SUITES=",${SG_SUITES:-pgtap,lint,vitest,types,model},"
PASSED=0
FAILED=0
RESULTS=()
mkdir -p .local
WORK=$(mktemp -d .local/test-run.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

section() { printf '\n==> %s\n' "$*"; }
# record <suite> <passed> <failed>
record() {
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  RESULTS+=("$(printf '%-28s %5d passed, %d failed' "$1" "$2" "$3")")
}
wants() { [[ $SUITES == *",$1,"* ]]; }

# --- install what is missing ---------------------------------------------------------

APT_OK=1
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  section "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Hook for browser tests: Debian chromium, driven by playwright-core.
ensure_browser() {
  compgen -G 'tests/browser/*.test.ts' >/dev/null || return 0
  ensure_apt chromium
}

if [[ ! -d node_modules ]]; then
  section "npm ci"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
ensure_apt "${APT_PACKAGES[@]}" || APT_OK=0
ensure_browser || echo "warning: chromium missing, browser tests will fail" >&2

with_db() { "$BIN/tsx" scripts/with-db.ts "$@"; }

# --- 1. pgTAP --------------------------------------------------------------------------

# prove_counts <suite> <log> <status>: records what pg_prove reported in <log>.
prove_counts() {
  local suite=$1 log=$2 rc=$3 tests failed wrong
  # Tests=N counts assertions that ran; "Tests: N Failed: F" per file, those that failed;
  # "Failed X/Y subtests" per file adds the planned ones that never ran.
  tests=$(sed -nE 's/.*Tests=([0-9]+).*/\1/p' "$log" | tail -n1)
  wrong=$(sed -nE 's/.*\(Wstat: .* Tests: [0-9]+ Failed: ([0-9]+)\)$/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  failed=$(sed -nE 's/^Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  tests=${tests:-0}
  ((failed < wrong)) && failed=$wrong
  # A file that died (bad plan, SQL error) or a server that never started fails too.
  if ((rc != 0 && failed == 0)); then failed=1; fi
  record "$suite" $((tests > wrong ? tests - wrong : 0)) "$failed"
}

# pgtap_on <label> <launcher...>: on a fresh prepared server from the launcher (which runs
# a command with SG_DB_URL set), pg_prove on sessionguard's own files, then the notes
# example (examples/notes) through `npm run test:policies`, the Docker-free runner users get.
pgtap_on() {
  local label=$1 slug log example_log rc
  shift
  slug=$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '-')
  log="$WORK/pgtap-$slug.log"
  example_log="$WORK/pgtap-notes-$slug.log"
  section "pgTAP on $label"
  if ((APT_OK == 0)); then
    echo "pgTAP needs the Debian packages above"
    record "pgTAP ($label)" 0 1
    record "pgTAP notes example ($label)" 0 1
    return
  fi
  "$@" env LOG="$log" EXAMPLE_LOG="$example_log" bash -c '
    psql "$SG_DB_URL" -qX -v ON_ERROR_STOP=1 \
      -c "create extension if not exists pgtap with schema extensions" || exit 3
    pg_prove --dbname "$SG_DB_URL" --failures --timer supabase/tests/database/*.sql 2>&1 | tee "$LOG"
    own=${PIPESTATUS[0]}
    echo "--- notes example: npm run test:policies"
    DATABASE_URL="$SG_DB_URL" bash scripts/test-policies.sh 2>&1 | tee "$EXAMPLE_LOG"
    echo "${PIPESTATUS[0]}" >"$EXAMPLE_LOG.rc"
    exit "$own"
  ' 2>&1 | tee -a "$log.outer"
  rc=${PIPESTATUS[0]}
  [[ -s $log ]] || cp "$log.outer" "$log"
  prove_counts "pgTAP ($label)" "$log" "$rc"
  [[ -s $example_log ]] || : >"$example_log"
  prove_counts "pgTAP notes example ($label)" "$example_log" "$(cat "$example_log.rc" 2>/dev/null || echo 1)"
}

if wants pgtap; then
  if compgen -G 'supabase/tests/database/*.sql' >/dev/null; then
    pgtap_on "PG 17" with_db --version 17 --
    pgtap_on "PG 15" with_db --version 15 --
    # As on hosted Supabase: `postgres` is not a superuser and pushes the migrations itself.
    pgtap_on "PG 15, hosted roles" bash scripts/with-hosted-roles.sh --
  else
    section "pgTAP: no files in supabase/tests/database, skipped"
  fi
fi

# --- 2. supabase db lint ----------------------------------------------------------------

if wants lint; then
  section "supabase db lint --level error (PostgreSQL 15, plpgsql_check)"
  if ((APT_OK == 0)); then
    echo "db lint needs postgresql-15-plpgsql-check"
    record "db lint" 0 1
  else
    log="$WORK/lint.log"
    with_db --version 15 -- bash -c '
      psql "$SG_DB_URL" -qX -v ON_ERROR_STOP=1 -c "create extension if not exists plpgsql_check" || exit 3
      exec node_modules/.bin/supabase db lint --db-url "$SG_DB_URL?sslmode=disable" \
        --level error --fail-on error
    ' >"$log" 2>&1
    rc=$?
    cat "$log"
    # Any reported problem fails the check, whatever the exit status says.
    if ((rc == 0)) && ! grep -qE '"(level|issues)"' "$log"; then
      record "db lint" 1 0
    else
      record "db lint" 0 1
    fi
  fi
fi

# --- 3. vitest --------------------------------------------------------------------------

if wants vitest; then
  section "vitest"
  json="$WORK/vitest.json"
  "$BIN/vitest" run --passWithNoTests --reporter=default --reporter=json --outputFile.json="$json"
  rc=$?
  if [[ -s $json ]]; then
    read -r vp vf < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      // A file that fails to load has no tests to count: count the file itself.
      const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
      console.log(r.numPassedTests, r.numFailedTests + broken);
    ' "$json")
    if ((rc != 0 && vf == 0)); then vf=1; fi
    record "vitest" "$vp" "$vf"
  else
    record "vitest" 0 1
  fi
fi

# --- 4. typecheck and lint ------------------------------------------------------------------

# check <name> <command...>: one passed or one failed.
check() {
  local name=$1
  shift
  printf -- '--- %s\n' "$name"
  if "$@"; then record "$name" 1 0; else record "$name" 0 1; fi
}

if wants types; then
  section "typecheck and lint"
  export RUST_BACKTRACE=0 NO_COLOR=1
  # The deployed entrypoints, and the local gateway that mounts them for `npm start`.
  check "deno check" "$BIN/deno" check --quiet supabase/functions/*/index.ts dev/gateway.ts
  check "deno lint" "$BIN/deno" lint --quiet
  check "tsc --noEmit" "$BIN/tsc" --noEmit -p tsconfig.json
  # The devices page (React, DOM, JSX: its own settings).
  check "tsc web page" "$BIN/tsc" --noEmit -p web/tsconfig.json
  check "test layout" "$BIN/tsx" scripts/check-test-layout.ts
fi

# --- 5. the protocol model ------------------------------------------------------------------

if wants model; then
  section "protocol model (spin, exhaustive)"
  if ! command -v spin >/dev/null || ! command -v cc >/dev/null; then
    echo "the model check needs the Debian packages spin and gcc"
    record "spin model" 0 1
  else
    log="$WORK/model.log"
    "$BIN/tsx" scripts/model-check.ts 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    read -r mp mf < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -n1)
    mp=${mp:-0}
    mf=${mf:-0}
    if ((rc != 0 && mf == 0)); then mf=1; fi
    record "spin model" "$mp" "$mf"
  fi
fi

# --- summary --------------------------------------------------------------------------------

section "summary"
printf '%s\n' "${RESULTS[@]}"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
