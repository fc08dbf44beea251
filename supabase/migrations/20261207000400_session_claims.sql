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
-- user reads as "no organization, no permission, never verified". The helpers, their
-- shared per-statement lookup (current_session) and the claims columns' guard are in
-- …000420_shared_lookup_text.sql, which gave them their present form.
--
-- Sections: tables (columns, constraint, index), internal functions (the cache's epoch,
-- events with their own words), triggers (revocations reach the cache), grants.

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
 * The one writer of security events. record_event writes the fixed sentence of its type;
 * the events of this migration say which organization, which role, how many sessions.
 * announce_event takes the sentence and does the rest; record_event is a call of it.
 *
 * Every event is announced twice: pg_notify on channel `sessionguard` (for servers that
 * LISTEN), and, where Supabase Realtime is installed, a private broadcast on topic
 * `sessionguard:<user id>` so that the user's other open tabs and devices learn of it at
 * once. realtime.send is called dynamically because plain Postgres (and a project
 * without Realtime) has no such function, and so that static checkers do not resolve a
 * schema that may not exist where the migration is linted.
 *
 * Any role that may connect can LISTEN on any channel, so the notification carries ids
 * only (event, session, user); a listener reads the event itself with its own
 * privileges. The Realtime broadcast is private (its topic is authorised per user by
 * Realtime's policies) and carries the event as the user sees it.
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
comment on function sessionguard.record_event(text, uuid, text, text, text) is
  'Writes a security event with the request context (and the impersonator, if any); announces its ids by pg_notify and the event by a private Realtime broadcast where present.';

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
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.bump_claims_epoch(),
  sessionguard.announce_event(text, uuid, text, text, text),
  sessionguard.describe_org(text, text),
  sessionguard.record_event(text, uuid, text, text, text),
  sessionguard.on_family_revoked()
from public, anon, authenticated, service_role;

