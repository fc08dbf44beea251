-- sessionguard: the RLS helpers and their shared lookup (P7, P15).
--
-- Where a policy asks whether the request's session is live, and what organization,
-- role, permissions and last verification it has: session_active(), org_id(),
-- org_role(), has_org_permission() and verified_within(), all reading one row lookup per
-- statement, current_session(). The claims they read are recorded by
-- …000400_session_claims.sql; user_id(), session_id() and the Data API's pre-request
-- hook are in …000400_rls_helpers.sql.
--
-- This version gave the lookup its present form. …000400_session_claims.sql kept
-- current_session()'s answer as jsonb; parsing it on every cache hit cost more than the
-- row lookup it saves (measured on PostgreSQL 17: a jsonb parse of the cached answer
-- took several times a current_setting() read). The answer is plain text split by
-- separators that no claim may contain, and the helpers read their field with
-- split_part/strpos. Earlier bodies of these functions are in the git history; a fresh
-- database gets them from here alone (tests/integration/migration-history.test.ts).
--
-- Sections: triggers (the claims columns' guard), internal functions (the shared
-- lookup), API functions (helpers), grants.

-- ---------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------

/*
 * The rules of the claims columns, kept below the API like guard_family's (and raising
 * 23514 naming the rule the same way). A separate trigger, fired only by statements that
 * write these columns, so a rotation (which never does) pays nothing for it:
 *  - bounded lengths, and a role and permissions only with an organization;
 *  - no control characters in what the helpers cache (the separators of its text);
 *  - claims_issued_at never moves back, nor back to null: a Clerk token older than one
 *    already applied can change nothing (stale). Tokens issued in the same second
 *    (Clerk's setActive and the token right after it) are not ordered by it: the later
 *    write wins.
 */
create or replace function sessionguard.guard_family_claims()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_rule text;
begin
  v_rule := case
    when not (length(new.org_id) between 1 and 255 and new.org_id !~ '[[:cntrl:]]') then 'families_org_id_check'
    when not (length(new.org_role) between 1 and 255 and new.org_role !~ '[[:cntrl:]]') then 'families_org_role_check'
    when not (length(new.org_slug) between 1 and 255) then 'families_org_slug_check'
    when not (cardinality(new.org_permissions) <= 500
              and array_position(new.org_permissions, null) is null
              and array_to_string(new.org_permissions, '') !~ '[[:cntrl:]]'
              and length(array_to_string(new.org_permissions, '')) <= 100000) then 'families_org_permissions_check'
    when new.org_id is null and (new.org_role is not null or new.org_slug is not null
                                 or new.org_permissions is not null) then 'families_org_check'
  end;
  if v_rule is null and tg_op = 'UPDATE' then
    v_rule := case
      when new.claims_issued_at < old.claims_issued_at
        or (old.claims_issued_at is not null and new.claims_issued_at is null) then 'families_claims_issued_at_check'
    end;
  end if;
  if v_rule is not null then
    raise exception 'new row for relation "families" violates check constraint "%"', v_rule
      using errcode = 'check_violation', constraint = v_rule, schema = 'sessionguard', table = 'families';
  end if;
  if tg_op = 'UPDATE' then
    perform sessionguard.bump_claims_epoch();
  end if;
  return new;
end;
$$;
comment on function sessionguard.guard_family_claims() is
  'Trigger: the claims columns keep their rules (lengths, an organization for a role, never older), and the RLS helpers re-read.';

-- `or replace`: a database that applied …000400 as published has both triggers already.
create or replace trigger families_guard_claims_insert
  before insert on sessionguard.families
  for each row when (new.org_id is not null or new.org_role is not null or new.org_slug is not null
                     or new.org_permissions is not null)
  execute function sessionguard.guard_family_claims();

create or replace trigger families_guard_claims_update
  before update of org_id, org_role, org_slug, org_permissions, verified_at, claims_issued_at
  on sessionguard.families
  for each row execute function sessionguard.guard_family_claims();

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

-- A database that applied …000400 as published has the jsonb version: the result type
-- changes, so drop and create. The helpers call it by name at run time (PL/pgSQL), so
-- nothing depends on it in the catalog.
drop function if exists sessionguard.current_session();

/*
 * One lookup per statement, shared by every helper. A policy that calls
 * session_active(), org_id() and has_org_permission() as init plans runs three helpers
 * per statement; each asks current_session(), and only the first reads the row.
 *
 * The answer is kept in a transaction-local setting under a key that changes whenever
 * the answer might: the token's sid and sub; the statement (statement_timestamp(): every
 * statement a client sends reads the row afresh, whatever changed the row in between,
 * triggers or not); the snapshot it reads (pg_current_snapshot(): a transaction that
 * commits in between, e.g. a webhook's, changes it even between statements of one
 * multi-statement message, which share a statement_timestamp); and this transaction's
 * own changes to the claims or a revocation (the epoch the triggers below bump, for
 * statements run inside one function). So the next statement reads the row again.
 *
 * The answer is text, not jsonb: parsing jsonb on every hit cost more than the lookup it
 * saves. '' for no live session, else fields separated by chr(30): '1', org id, role,
 * permissions (separated by chr(31)), verification time (epoch seconds). Claims never
 * hold control characters (guard_family_claims), so the separators are unambiguous.
 *
 * A role that can set arbitrary settings could write this one, but such a role can set
 * request.jwt.claims (which every policy trusts) just as well: no new power. The Data
 * API's roles run no arbitrary SQL.
 */
create function sessionguard.current_session()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_claims jsonb := auth.jwt();
  v_sid text := v_claims ->> 'sid';
  v_key text;
  v_cached text;
  v_session text;
begin
  if v_sid is null
     or v_sid !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return '';
  end if;
  v_key := lower(v_sid) || chr(29) || coalesce(v_claims ->> 'sub', '') || chr(29) || statement_timestamp()::text
    || chr(29) || pg_current_snapshot()::text
    || chr(29) || coalesce(current_setting('sessionguard.claims_epoch', true), '') || chr(28);
  v_cached := current_setting('sessionguard.session_cache', true);
  if starts_with(v_cached, v_key) then
    return substr(v_cached, length(v_key) + 1);
  end if;

  select '1' || chr(30) || coalesce(f.org_id, '') || chr(30) || coalesce(f.org_role, '') || chr(30)
         || coalesce(array_to_string(f.org_permissions, chr(31)), '') || chr(30)
         || coalesce(extract(epoch from f.verified_at)::text, '')
  into v_session
  from sessionguard.families f
  where f.id = v_sid::uuid
    and f.user_id = nullif(v_claims ->> 'sub', '')
    and f.revoked_at is null
    and f.expires_at > now()
    and f.idle_expires_at > now();
  perform set_config('sessionguard.session_cache', v_key || coalesce(v_session, ''), true);
  return coalesce(v_session, '');
end;
$$;
comment on function sessionguard.current_session() is
  'The claims of the request JWT''s live session as text (fields in the migration), or an empty string for none; one row lookup per statement, shared by the RLS helpers.';

-- ---------------------------------------------------------------------------------------
-- API functions: helpers for app policies (same contracts)
-- ---------------------------------------------------------------------------------------

create or replace function sessionguard.session_active()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return sessionguard.current_session() <> '';
end;
$$;
comment on function sessionguard.session_active() is
  'True when the request JWT''s sid names a live (not revoked, not expired, not idle) session of its sub. Call it in policies as (select sessionguard.session_active()).';

create or replace function sessionguard.org_id()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return nullif(split_part(sessionguard.current_session(), chr(30), 2), '');
end;
$$;
comment on function sessionguard.org_id() is
  'The active Clerk organization of the request''s live session, read from the session row; null when none or not live. Call as (select sessionguard.org_id()).';

create or replace function sessionguard.org_role()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return nullif(split_part(sessionguard.current_session(), chr(30), 3), '');
end;
$$;
comment on function sessionguard.org_role() is
  'The user''s role (org:admin, org:member, ...) in the active organization of the live session; null when none or not live.';

create or replace function sessionguard.has_org_permission(p_permission text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_permissions text := split_part(sessionguard.current_session(), chr(30), 4);
begin
  return coalesce(v_permissions <> '' and p_permission <> ''
    and strpos(chr(31) || v_permissions || chr(31), chr(31) || p_permission || chr(31)) > 0, false);
end;
$$;
comment on function sessionguard.has_org_permission(text) is
  'True when the live session''s user holds the permission (org:<feature>:<permission>) in its active organization; false otherwise, and for null.';

create or replace function sessionguard.verified_within(p_interval interval)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_verified numeric := nullif(split_part(sessionguard.current_session(), chr(30), 5), '')::numeric;
begin
  return coalesce(v_verified >= extract(epoch from now() - p_interval), false);
end;
$$;
comment on function sessionguard.verified_within(interval) is
  'True when the live session''s user verified a factor (sign-in or Clerk reverification) within the interval; false when never, not live, or null.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.current_session(),
  sessionguard.guard_family_claims()
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.session_active(),
  sessionguard.org_id(),
  sessionguard.org_role(),
  sessionguard.has_org_permission(text),
  sessionguard.verified_within(interval)
from public;

grant execute on function
  sessionguard.session_active(),
  sessionguard.org_id(),
  sessionguard.org_role(),
  sessionguard.has_org_permission(text),
  sessionguard.verified_within(interval)
to anon, authenticated, service_role;
