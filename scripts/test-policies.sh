#!/usr/bin/env bash
# npm run test:policies [-- <test files or folders>...]
#
# Runs pgTAP policy tests with pg_prove against a running database, without Docker: the
# Docker-free twin of `supabase test db`. Same pg_prove flags as the Supabase CLI
# (--ext .pg --ext .sql -r), and, like it, enables pgTAP in schema `extensions` for the run
# and drops it again when it was not there before.
#
#   database: DATABASE_URL, else `npm start`'s own (127.0.0.1:${SG_DB_PORT:-54322});
#   tests:    the arguments, else the notes example (examples/notes/supabase/tests), whose
#             table is created first from examples/notes/supabase/migrations when missing.
#
# Every test file runs in its own transaction and rolls back, so the database is left as it
# was (apart from the example's notes table, which the React example uses too).
set -uo pipefail
cd "$(dirname "$0")/.."

EXAMPLE=examples/notes/supabase
DB_URL=${DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:${SG_DB_PORT:-54322}/postgres}
# Never print a password.
SHOWN_URL=$(printf '%s' "$DB_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#')

fail() {
  echo "test:policies: $*" >&2
  exit 2
}

if ! command -v pg_prove >/dev/null || ! command -v psql >/dev/null; then
  packages=(postgresql-client libtap-parser-sourcehandler-pgtap-perl)
  [[ $(id -u) -eq 0 ]] || fail "needs pg_prove and psql: apt-get install -y ${packages[*]}"
  echo "test:policies: installing ${packages[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
    fail "could not install ${packages[*]}"
fi

q() { psql "$DB_URL" -qXAt -v ON_ERROR_STOP=1 "$@"; }

q -c 'select 1' >/dev/null 2>&1 ||
  fail "no database at $SHOWN_URL: start one with \`npm start\`, or set DATABASE_URL"
[[ $(q -c "select to_regnamespace('sessionguard') is not null") == t ]] ||
  fail "$SHOWN_URL has no sessionguard schema: apply supabase/migrations first (npm start does)"

if [[ $(q -c "select count(*) from pg_extension where extname = 'pgtap'") == 0 ]]; then
  q -c 'create extension pgtap with schema extensions' >/dev/null ||
    fail "could not enable pgTAP on $SHOWN_URL (are its files installed on that server?)"
  trap 'q -c "drop extension if exists pgtap" >/dev/null' EXIT
fi

if (($# == 0)); then
  set -- "$EXAMPLE/tests"
  if [[ $(q -c "select to_regclass('public.notes') is null") == t ]]; then
    for migration in "$EXAMPLE"/migrations/*.sql; do
      echo "test:policies: applying $migration" >&2
      q -1 -f "$migration" >/dev/null || fail "could not apply $migration"
    done
  fi
fi

echo "test:policies: pg_prove on $SHOWN_URL: $*" >&2
pg_prove --dbname "$DB_URL" --ext .pg --ext .sql -r --failures "$@"
