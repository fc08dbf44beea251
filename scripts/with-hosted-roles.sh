#!/usr/bin/env bash
# scripts/with-hosted-roles.sh -- <command> [args...]
#
# Runs a command against a throwaway PostgreSQL 15 whose `postgres` login is NOT a
# superuser, as on hosted Supabase: the cluster's superuser is `supabase_admin`, which
# applies what the platform provides (the stand-in, pgTAP), and `postgres` gets the
# attributes and grants Supabase gives it (supabase/postgres
# migrations/db/migrations/10000000000000_demote-postgres.sql: NOSUPERUSER CREATEDB
# CREATEROLE LOGIN REPLICATION BYPASSRLS and all on the database and schema extensions;
# membership in anon, authenticated and service_role as in
# 20250605172253_grant_with_admin_to_postgres_16_and_above.sql). The migrations are then
# pushed by the real Supabase CLI connected as that `postgres`, and the command runs with
# DATABASE_URL and SG_DB_URL naming it.
set -uo pipefail
cd "$(dirname "$0")/.."

(($# >= 2)) && [[ $1 == -- ]] || {
  echo "usage: scripts/with-hosted-roles.sh -- <command> [args...]" >&2
  exit 2
}
shift

PG=/usr/lib/postgresql/15/bin
[[ -x $PG/pg_ctl ]] || {
  echo "with-hosted-roles: needs Debian's postgresql-15" >&2
  exit 2
}
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p .local
DIR=$(mktemp -d "$PWD/.local/hosted-pg15.XXXXXX")
[[ $(id -u) -eq 0 ]] && chown postgres "$DIR"
PORT=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
ADMIN_PASSWORD=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')

stop() {
  as_pg "$PG/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$DIR"
}
trap stop EXIT

printf '%s\n' "$ADMIN_PASSWORD" >"$DIR/pwfile"
[[ $(id -u) -eq 0 ]] && chown postgres "$DIR/pwfile"
as_pg "$PG/initdb" --pgdata="$DIR/data" --username=supabase_admin --pwfile="$DIR/pwfile" \
  --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null || exit 3
rm -f "$DIR/pwfile"
cat >>"$DIR/data/postgresql.conf" <<'EOF'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
log_min_messages = warning
EOF
as_pg "$PG/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $PORT" -w -t 60 start >/dev/null || {
  cat "$DIR/server.log" >&2
  exit 3
}

ADMIN_URL="postgresql://supabase_admin:$ADMIN_PASSWORD@127.0.0.1:$PORT/postgres"
URL="postgresql://postgres:postgres@127.0.0.1:$PORT/postgres"
psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 3
create role postgres login password 'postgres' nosuperuser createdb createrole replication bypassrls;
\ir sql/supabase_standin.sql
grant all on database postgres to postgres;
grant all on schema public, extensions to postgres;
grant anon, authenticated, service_role to postgres with admin option;
create extension pgtap with schema extensions;
SQL
[[ $(psql "$URL" -qXAt -c "select rolsuper from pg_roles where rolname = current_user") == f ]] || {
  echo "with-hosted-roles: postgres is a superuser; refusing to pretend otherwise" >&2
  exit 3
}
echo "[with-hosted-roles] PostgreSQL 15 on 127.0.0.1:$PORT, postgres not a superuser; supabase db push as postgres" >&2
node_modules/.bin/supabase db push --db-url "$URL?sslmode=disable" --yes >"$DIR/push.log" 2>&1 || {
  cat "$DIR/push.log" >&2
  exit 3
}

DATABASE_URL=$URL SG_DB_URL=$URL "$@"
