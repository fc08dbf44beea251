#!/usr/bin/env bash
# npm run test:policies [-- [PROJECT] [--migrations DIR] [--tests PATH]... [--db-url URL]]
#
# Runs a project's own pgTAP policy tests with pg_prove, without Docker: the Docker-free
# twin of `supabase test db`, with the same pg_prove flags (--ext .pg --ext .sql -r).
#
#   PROJECT         a folder with supabase/migrations and supabase/tests (your app). Default:
#                   the folder npm was run from when it has a supabase/ folder and is not this
#                   repository (`npm --prefix path/to/sessionguard run test:policies` in your
#                   app), else examples/notes here.
#   --migrations D  your migrations, when not in PROJECT/supabase/migrations.
#   --tests PATH    a test file or folder (repeatable), when not PROJECT/supabase/tests.
#   --db-url URL    the database to use (or DATABASE_URL). Without one, a throwaway
#                   PostgreSQL 17 (from npm) is started, prepared like a Supabase database,
#                   and removed afterwards: a database this script did not start is touched
#                   only when you name it.
#
# The migrations applied are sessionguard's and yours together, by the Supabase CLI's
# `db push`, which records them: a migration already in the database is skipped, so a
# named database that already has them (`npm start`'s, `supabase start`'s) gets only what
# is new. pgTAP is enabled in schema `extensions` for the run (and dropped again if it was
# not there). Each test file runs in its own transaction and rolls back.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

fail() {
  echo "test:policies: $*" >&2
  exit 2
}
say() { echo "test:policies: $*" >&2; }

# --- arguments ---------------------------------------------------------------------------

ARGS=("$@")
PROJECT="" MIGRATIONS="" TESTS=() DB_URL=${DATABASE_URL:-}
while (($#)); do
  case $1 in
    --migrations) MIGRATIONS=${2:?--migrations needs a folder}; shift 2 ;;
    --tests) TESTS+=("${2:?--tests needs a file or folder}"); shift 2 ;;
    --db-url) DB_URL=${2:?--db-url needs a connection string}; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) fail "unknown option $1 (see npm run test:policies -- --help)" ;;
    *) [[ -z $PROJECT ]] || fail "one project folder, not '$PROJECT' and '$1'"; PROJECT=$1; shift ;;
  esac
done

# Relative paths are the caller's: npm runs scripts from the package root, but says where
# it was started in INIT_CWD.
CALLER=${INIT_CWD:-$ROOT}
absolute() { [[ $1 == /* ]] && printf '%s' "$1" || printf '%s/%s' "$CALLER" "$1"; }
if [[ -z $PROJECT ]]; then
  if [[ -d $CALLER/supabase && $(cd "$CALLER" && pwd -P) != $(pwd -P) ]]; then
    PROJECT=$CALLER
  else
    PROJECT=$ROOT/examples/notes
  fi
fi
PROJECT=$(absolute "$PROJECT")
[[ -d $PROJECT ]] || fail "no folder $PROJECT"
MIGRATIONS=$(absolute "${MIGRATIONS:-$PROJECT/supabase/migrations}")
((${#TESTS[@]})) || TESTS=("$PROJECT/supabase/tests")
for i in "${!TESTS[@]}"; do
  TESTS[i]=$(absolute "${TESTS[i]}")
  [[ -e ${TESTS[i]} ]] || fail "no tests at ${TESTS[i]}"
done

# --- tools ---------------------------------------------------------------------------------

[[ -x node_modules/.bin/supabase ]] || {
  say "installing this repository's npm packages first (npm ci)"
  npm ci --no-audit --no-fund >&2 || fail "npm ci failed"
}

if ! command -v pg_prove >/dev/null || ! command -v psql >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    packages=(postgresql-client libtap-parser-sourcehandler-pgtap-perl)
    say "installing ${packages[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null || fail "could not install ${packages[*]}"
  else
    fail "needs psql and pg_prove (pgTAP's test runner, a Perl module). Install them with one of:
  Debian, Ubuntu:  sudo apt-get install postgresql-client libtap-parser-sourcehandler-pgtap-perl
  macOS:           brew install libpq pgtap   (then add libpq's bin folder to PATH)
  anywhere Perl is: cpanm TAP::Parser::SourceHandler::pgTAP   (pg_prove), and PostgreSQL's client for psql
Or run the same tests with Docker: supabase start && supabase test db"
  fi
fi

# --- migrations: sessionguard's and the project's, one folder for one push -------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-policies.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/supabase/migrations"
cp supabase/migrations/*.sql "$WORK/supabase/migrations/"
OWN=0
if [[ -d $MIGRATIONS ]]; then
  for file in "$MIGRATIONS"/*.sql; do
    [[ -e $file ]] || continue
    name=$(basename "$file")
    version=${name%%_*}
    # The CLI keys migrations by version: a different file with one of ours' versions would
    # silently replace it, so it is refused.
    for ours in supabase/migrations/"$version"_*.sql; do
      [[ -e $ours && $(basename "$ours") != "$name" ]] &&
        fail "$file has the version $version of sessionguard's $(basename "$ours"): rename it"
    done
    cp "$file" "$WORK/supabase/migrations/$name"
    OWN=$((OWN + 1))
  done
elif [[ -n $MIGRATIONS && $MIGRATIONS != "$PROJECT/supabase/migrations" ]]; then
  fail "no migrations folder $MIGRATIONS"
fi

# --- the database --------------------------------------------------------------------------

if [[ -z $DB_URL && -z ${SG_POLICIES_OWN_DB:-} ]]; then
  # Nothing named: a throwaway server of our own, which with-db.ts stops and removes.
  say "no database named (--db-url or DATABASE_URL): starting a throwaway PostgreSQL 17"
  cleanup
  exec node_modules/.bin/tsx scripts/with-db.ts --version 17 -- \
    env SG_POLICIES_OWN_DB=1 INIT_CWD="$CALLER" bash scripts/test-policies.sh "${ARGS[@]}"
fi
[[ -n ${SG_POLICIES_OWN_DB:-} ]] && DB_URL=${SG_DB_URL:?with-db.ts sets SG_DB_URL}
# Never print a password.
SHOWN_URL=$(printf '%s' "$DB_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#')

q() { psql "$DB_URL" -qXAt -v ON_ERROR_STOP=1 "$@"; }
q -c 'select 1' >/dev/null 2>&1 ||
  fail "cannot reach the database at $SHOWN_URL (is it running? is the URL right?)"

say "applying sessionguard's migrations and $OWN of $MIGRATIONS to $SHOWN_URL (those already applied are skipped)"
URL_NO_SSL=$DB_URL
[[ $URL_NO_SSL == *sslmode=* ]] || URL_NO_SSL+=$([[ $URL_NO_SSL == *\?* ]] && echo '&' || echo '?')sslmode=disable
if ! out=$(SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 node_modules/.bin/supabase db push \
  --workdir "$WORK" --db-url "$URL_NO_SSL" --yes --include-all 2>&1); then
  printf '%s\n' "$out" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#g' >&2
  fail "could not apply the migrations (above: the Supabase CLI's words)"
fi

# --- pgTAP and the tests ----------------------------------------------------------------------

if [[ $(q -c "select count(*) from pg_extension where extname = 'pgtap'") == 0 ]]; then
  q -c 'create extension pgtap with schema extensions' >/dev/null 2>&1 ||
    fail "pgTAP is not installed on the server at $SHOWN_URL. It is plain SQL; install it with one of:
  Debian, Ubuntu: sudo apt-get install postgresql-<major>-pgtap
  other systems:  your distribution's pgtap package for that PostgreSQL version
  macOS:          brew install pgtap
  anywhere:       pgxn install pgtap, or make install from https://github.com/theory/pgtap
The throwaway server takes pgTAP's files from any of these installs (or from SG_PGTAP_DIR,
a folder holding pgtap.control and pgtap--*.sql).
Or use a database that has it: supabase start's does (--db-url postgresql://postgres:postgres@127.0.0.1:54322/postgres)"
  trap 'q -c "drop extension if exists pgtap" >/dev/null; cleanup' EXIT
fi

say "pg_prove on $SHOWN_URL: ${TESTS[*]}"
pg_prove --dbname "$DB_URL" --ext .pg --ext .sql -r --failures "${TESTS[@]}"
