-- sessionguard: claims from Clerk, recorded on the session and read live by RLS (P15).
--
-- A Clerk session token says which organization is active (v2 `o`, v1 `org_*`), the
-- user's role and permissions in it, and how long ago a factor was verified (`fva`).
-- sessionguard records them on the family at /start and at /claims, and Clerk's
-- organization webhooks change them on live sessions. App policies read them through
-- helpers that look at the session row, not at the access token:
--
--   using (org_id = (select sessionguard.org_id()))
--   with check ((select sessionguard.has_org_permission('org:projects:write')))
--
-- so a role change, a removed membership or an expired re-verification takes effect on
-- the next statement, like a revocation (P7). Every helper fails closed: a revoked,
-- expired or idle session, a token without a sessionguard sid, or a sid of another
-- user reads as "no organization, no permission, never verified".
--
-- Sections: tables (columns, constraint, index), internal functions (the per-statement
-- cache, events with their own words), triggers, API functions (helpers), grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

-- Nullable columns without defaults: adding them rewrites nothing.
alter table sessionguard.families
  add column org_id text,
  add column org_role text,
  add column org_slug text,
  add column org_permissions text[],
  add column verified_at timestamptz,
  add column claims_issued_at timestamptz;

comment on column sessionguard.families.org_id is
  'Active Clerk organization (org_...) of the session, from the Clerk token (v2 o.id, v1 org_id); null for none.';
comment on column sessionguard.families.org_role is
  'The user''s role in org_id, as Clerk''s webhooks name it (org:admin); v2 o.rol gets the org: prefix.';
comment on column sessionguard.families.org_slug is 'Slug of org_id (v2 o.slg, v1 org_slug), for display.';
comment on column sessionguard.families.org_permissions is
  'The user''s permissions in org_id (org:<feature>:<permission>), as Clerk decodes them.';
comment on column sessionguard.families.verified_at is
  'When a factor was last verified, from the Clerk token''s fva (minutes before its iat); step-up policies read it.';
comment on column sessionguard.families.claims_issued_at is
  'Issue time of the newest Clerk token (or organization webhook) applied to the claims; an older token is stale.';

-- The closed set of event types grows by the four this migration writes.
alter table sessionguard.events drop constraint events_type_check;
alter table sessionguard.events add constraint events_type_check check (type in (
  'session_started', 'signed_out', 'session_revoked', 'refresh_token_reused',
  'session_expired', 'clerk_session_ended', 'user_deleted', 'dpop_key_mismatch',
  'clerk_revoke_failed', 'session_claims_changed', 'org_role_changed', 'org_membership_ended',
  'session_limit_reached'));

-- organization.deleted finds every live session in the organization. Rotations never
-- change org_id, so they stay HOT updates.
create index families_org_id_idx on sessionguard.families (org_id)
  where revoked_at is null and org_id is not null;
comment on index sessionguard.families_org_id_idx is 'Live families by active organization, for organization webhooks.';

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

/*
 * One lookup per statement, shared by every helper. A policy that calls
 * session_active(), org_id() and has_org_permission() as init plans runs three helpers
 * per statement; each asks current_session(), and only the first reads the row.
 *
 * The answer is kept in a transaction-local setting under a key that changes whenever
 * the answer might: the token's sid and sub, the statement (statement_timestamp()), the
 * snapshot it reads (pg_current_snapshot(): a transaction that commits in between, e.g.
 * a webhook's, changes it even between statements of one multi-statement message), and
 * this transaction's own changes to the claims or a revocation (the epoch the triggers
 * below bump). So the next statement after any change reads the row again.
 *
 * A role that can set arbitrary settings could write this one, but such a role can set
 * request.jwt.claims (which every policy trusts) just as well: no new power. The Data
 * API's roles run no arbitrary SQL.
 */
create function sessionguard.current_session()
returns jsonb
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
  v_session jsonb;
begin
  if v_sid is null
     or v_sid !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return null;
  end if;
  v_key := concat_ws(' ', v_sid::uuid, v_claims ->> 'sub', extract(epoch from statement_timestamp()),
    pg_current_snapshot(), current_setting('sessionguard.claims_epoch', true));
  v_cached := current_setting('sessionguard.session_cache', true);
  if v_cached is not null and starts_with(v_cached, v_key || '|') then
    return nullif(substr(v_cached, length(v_key) + 2), '')::jsonb;
  end if;

  select jsonb_build_object(
           'org_id', f.org_id, 'org_role', f.org_role,
           'org_permissions', to_jsonb(f.org_permissions),
           'verified_at', extract(epoch from f.verified_at))
  into v_session
  from sessionguard.families f
  where f.id = v_sid::uuid
    and f.user_id = nullif(v_claims ->> 'sub', '')
    and f.revoked_at is null
    and f.expires_at > now()
    and f.idle_expires_at > now();
  perform set_config('sessionguard.session_cache', v_key || '|' || coalesce(v_session::text, ''), true);
  return v_session;
end;
$$;
comment on function sessionguard.current_session() is
  'The claims of the request JWT''s live session ({org_id, org_role, org_permissions, verified_at}), or null; one row lookup per statement, shared by the RLS helpers.';

-- Invalidates current_session()'s answer for the rest of this transaction.
create function sessionguard.bump_claims_epoch()
returns void
language sql
volatile
set search_path = ''
as $$
  select set_config('sessionguard.claims_epoch',
    (coalesce(nullif(current_setting('sessionguard.claims_epoch', true), '')::bigint, 0) + 1)::text, true);
$$;
comment on function sessionguard.bump_claims_epoch() is
  'Marks that this transaction changed a session''s claims or ended one: the RLS helpers read the row again.';

/*
 * record_event writes the fixed sentence of its type; the events of this migration say
 * which organization, which role, how many sessions. announce_event takes the sentence
 * and does the rest (insert, pg_notify, the Realtime broadcast); record_event becomes a
 * call of it, so there is still one writer of events.
 */
create function sessionguard.announce_event(
  p_user_id text, p_session_id uuid, p_type text, p_description text, p_actor_id text default null)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_ip text := nullif(current_setting('sessionguard.ip', true), '');
  v_user_agent text := nullif(current_setting('sessionguard.user_agent', true), '');
  v_event sessionguard.events%rowtype;
  v_payload jsonb;
begin
  insert into sessionguard.events (user_id, session_id, type, ip, user_agent, description, actor_id)
  values (p_user_id, p_session_id, p_type, v_ip::inet, v_user_agent, p_description, p_actor_id)
  returning * into v_event;

  perform pg_notify('sessionguard', jsonb_build_object(
    'id', v_event.id, 'session_id', v_event.session_id, 'user_id', v_event.user_id)::text);
  v_payload := jsonb_build_object(
    'id', v_event.id, 'type', v_event.type, 'session_id', v_event.session_id,
    'user_id', v_event.user_id, 'created_at', v_event.created_at,
    'description', v_event.description);
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null then
    execute format('select %I.send($1, $2, $3, true)', 'realtime')
      using v_payload, v_event.type, 'sessionguard:' || p_user_id;
  end if;
end;
$$;
comment on function sessionguard.announce_event(text, uuid, text, text, text) is
  'Writes a security event with the given sentence and the request context; announces it like record_event.';

create or replace function sessionguard.record_event(
  p_user_id text, p_session_id uuid, p_type text, p_device_name text, p_actor_id text default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select sessionguard.announce_event(p_user_id, p_session_id, p_type,
    sessionguard.describe_event(p_type, p_device_name)
      || case when p_actor_id is not null and p_type = 'session_started'
              then format(' It was started by %s acting on your behalf (impersonation).', p_actor_id)
              else '' end,
    p_actor_id);
$$;

-- The organization as a user reads it: its slug when known, else its id.
create function sessionguard.describe_org(p_org_id text, p_org_slug text)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(nullif(p_org_slug, ''), p_org_id, 'no organization');
$$;
comment on function sessionguard.describe_org(text, text) is 'How an event names an organization.';

-- ---------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------

/*
 * The rules of the claims columns, kept below the API like guard_family's (and raising
 * 23514 naming the rule the same way). A separate trigger, fired only by statements that
 * write these columns, so a rotation (which never does) pays nothing for it:
 *  - bounded lengths, and a role and permissions only with an organization;
 *  - claims_issued_at never moves back, nor back to null: a Clerk token older than one
 *    already applied can change nothing (stale). Tokens issued in the same second
 *    (Clerk's setActive and the token right after it) are not ordered by it: the later
 *    write wins.
 */
create function sessionguard.guard_family_claims()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_rule text;
begin
  v_rule := case
    when not (length(new.org_id) between 1 and 255) then 'families_org_id_check'
    when not (length(new.org_role) between 1 and 255) then 'families_org_role_check'
    when not (length(new.org_slug) between 1 and 255) then 'families_org_slug_check'
    when not (cardinality(new.org_permissions) <= 500
              and array_position(new.org_permissions, null) is null
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

create trigger families_guard_claims_insert
  before insert on sessionguard.families
  for each row when (new.org_id is not null or new.org_role is not null or new.org_slug is not null
                     or new.org_permissions is not null)
  execute function sessionguard.guard_family_claims();

create trigger families_guard_claims_update
  before update of org_id, org_role, org_slug, org_permissions, verified_at, claims_issued_at
  on sessionguard.families
  for each row execute function sessionguard.guard_family_claims();

-- A revocation in this transaction must reach the helpers on its next statement too.
create function sessionguard.on_family_revoked()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform sessionguard.bump_claims_epoch();
  return null;
end;
$$;
comment on function sessionguard.on_family_revoked() is
  'Trigger: a revocation makes the RLS helpers read the row again in this transaction.';

create trigger families_revoked_epoch
  after update of revoked_at on sessionguard.families
  for each statement execute function sessionguard.on_family_revoked();

-- ---------------------------------------------------------------------------------------
-- API functions: helpers for app policies
-- ---------------------------------------------------------------------------------------

-- Same contract as before (…000400_rls_helpers.sql); the lookup is now shared.
create or replace function sessionguard.session_active()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return sessionguard.current_session() is not null;
end;
$$;

create function sessionguard.org_id()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return sessionguard.current_session() ->> 'org_id';
end;
$$;
comment on function sessionguard.org_id() is
  'The active Clerk organization of the request''s live session, read from the session row; null when none or not live. Call as (select sessionguard.org_id()).';

create function sessionguard.org_role()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return sessionguard.current_session() ->> 'org_role';
end;
$$;
comment on function sessionguard.org_role() is
  'The user''s role (org:admin, org:member, ...) in the active organization of the live session; null when none or not live.';

create function sessionguard.has_org_permission(p_permission text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return coalesce((sessionguard.current_session() -> 'org_permissions') ? p_permission, false);
end;
$$;
comment on function sessionguard.has_org_permission(text) is
  'True when the live session''s user holds the permission (org:<feature>:<permission>) in its active organization; false otherwise, and for null.';

create function sessionguard.verified_within(p_interval interval)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_verified numeric := (sessionguard.current_session() ->> 'verified_at')::numeric;
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
  sessionguard.bump_claims_epoch(),
  sessionguard.announce_event(text, uuid, text, text, text),
  sessionguard.describe_org(text, text),
  sessionguard.guard_family_claims(),
  sessionguard.on_family_revoked()
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.org_id(),
  sessionguard.org_role(),
  sessionguard.has_org_permission(text),
  sessionguard.verified_within(interval)
from public;

grant execute on function
  sessionguard.org_id(),
  sessionguard.org_role(),
  sessionguard.has_org_permission(text),
  sessionguard.verified_within(interval)
to anon, authenticated, service_role;
