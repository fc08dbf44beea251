/*
 * Supabase stand-in for plain Postgres. NEVER deployed.
 *
 * A Supabase database ships roles, schemas and helper functions that migrations and
 * RLS policies lean on: anon / authenticated / service_role, the authenticator login
 * PostgREST uses, auth.jwt() and friends, the extensions schema, and the grants on
 * schema public. Plain Postgres (embedded-postgres, Debian's server) has none of them.
 * This file recreates just enough, with Supabase's attributes, that the migrations and
 * the pgTAP files run unchanged on both.
 *
 * Idempotent: every object is created only when missing, so it is safe to run twice.
 * The test harness skips it entirely when it finds a real Supabase database.
 * It must stay free of anything sessionguard itself needs: helpers a test wants are
 * created inside that test file.
 */

-- Roles ------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- PostgREST logs in as authenticator and switches to the role named by the JWT.
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- Supabase caps request roles' statements; matching it keeps slow policies visible.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';

-- Supabase puts `extensions` on the search path of the `postgres` login, which is how
-- `supabase test db` finds pgTAP's functions unqualified.
alter role postgres set search_path = "$user", public, extensions;

-- Schemas ----------------------------------------------------------------------------

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

-- Exposed by the Data API in supabase/config.toml; present (empty) on every project.
create schema if not exists graphql_public;
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;

-- Extensions Supabase preinstalls in schema extensions.
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- auth helpers -----------------------------------------------------------------------
/*
 * PostgREST publishes the verified JWT as the GUC request.jwt.claims (a JSON string).
 * Older PostgREST versions set one GUC per claim (request.jwt.claim.sub, ...) and a
 * single request.jwt.claim; Supabase's helpers read both, newest form last or first as
 * below. Empty strings count as unset, because a GUC once set in a session stays '' after
 * the transaction that set it ends.
 */

create or replace function auth.jwt()
  returns jsonb
  language sql
  stable
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

comment on function auth.jwt() is
  'Claims of the request''s JWT as jsonb (stand-in for Supabase''s auth.jwt()).';

-- Casts to uuid exactly as Supabase does: a Clerk id such as user_2abc makes it raise.
create or replace function auth.uid()
  returns uuid
  language sql
  stable
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$$;

comment on function auth.uid() is
  'sub claim cast to uuid (stand-in for Supabase''s auth.uid()).';

create or replace function auth.role()
  returns text
  language sql
  stable
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )::text
$$;

comment on function auth.role() is
  'role claim (stand-in for Supabase''s auth.role()).';

create or replace function auth.email()
  returns text
  language sql
  stable
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.email', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'
  )::text
$$;

comment on function auth.email() is
  'email claim (stand-in for Supabase''s auth.email()).';

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email()
  to anon, authenticated, service_role;

-- Grants on schema public --------------------------------------------------------------
/*
 * Supabase grants the request roles usage on public and, by default privileges, all
 * rights on whatever postgres creates there; RLS then decides row access. Migrations
 * that want less must revoke explicitly, and tests here see the same defaults they
 * would on a hosted project.
 */

grant usage on schema public to postgres, anon, authenticated, service_role;

alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
