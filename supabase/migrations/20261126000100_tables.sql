-- sessionguard: what the database stores, and the invariants it keeps below the API.
--
-- MIGRATIONS ARE APPEND-ONLY FROM HERE ON. Before 0.1.0 shipped, the five migrations were
-- regrouped once by concern (this file: every table; then revocation and the Clerk
-- lifecycle; refresh and rotation, where reuse is detected; the RLS helpers; housekeeping).
-- From now on a change is a new migration: never edit one that may have been applied.
--
-- A "family" is one signed-in device: it starts when a Clerk session token is exchanged
-- at /start and lives through every refresh-token rotation until it is revoked or
-- expires. Refresh tokens are `<key id>.<family id>.<generation>.<mac>`; the MAC secret
-- lives only in the edge function's secrets, so this schema stores no token material at
-- all: a dump of it mints nothing (P5). One row per family, updated in place on every
-- rotation, keeps storage O(1) per family (P6).
--
-- Sections: schema, tables, indexes, internal functions (argument checks, security
-- events), triggers with their functions (the families guard), RLS policies, grants.

-- ---------------------------------------------------------------------------------------
-- schema
-- ---------------------------------------------------------------------------------------

-- Internal schema: not listed in the Data API's exposed schemas, so PostgREST never
-- serves it. API roles get usage only so that RLS helpers in it can be called.
create schema if not exists sessionguard;
comment on schema sessionguard is
  'sessionguard: rotating, theft-detecting sessions for Clerk + Supabase. Internal; not exposed by the Data API.';

revoke all on schema sessionguard from public;

/*
 * PostgreSQL gives every new function EXECUTE to PUBLIC. `alter default privileges in
 * schema ... revoke` cannot take that away: per-schema defaults only add to the global
 * ones. So the role that applies these migrations (`postgres` on Supabase, which may
 * change its own defaults without being a superuser) drops the global grant, and then
 * gives it back in `public` and `extensions`, so that functions an app or an extension
 * creates there behave as before. A function added to `sessionguard` later is then
 * executable only by its owner until a migration grants it. Functions this role creates
 * in any other schema are affected too: they need an explicit grant (see README).
 */
alter default privileges revoke execute on functions from public;
alter default privileges in schema public grant execute on functions to public;
do $$
begin
  if to_regnamespace('extensions') is not null then
    execute 'alter default privileges in schema extensions grant execute on functions to public';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

create table sessionguard.families (
  id uuid not null default gen_random_uuid(),
  user_id text not null,
  clerk_session_id text,
  device_name text,
  user_agent text,
  ip inet,
  generation bigint not null default 0,
  rotated_at timestamptz,
  created_at timestamptz not null default now(),
  last_active_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  dpop_jkt text,
  actor_id text,
  constraint families_pkey primary key (id)
) with (fillfactor = 80);
-- fillfactor leaves room on each page so that a rotation, which changes no indexed
-- column, is a HOT update: the row is rewritten in place and no index grows.
--
-- The column rules (lengths, the lifetime order, a reason for every revocation, ...)
-- are enforced by the guard trigger below, not by CHECK constraints: see there why.

comment on table sessionguard.families is
  'One row per signed-in device (a refresh-token family). Rotations update the row in place; no token material is stored.';
comment on column sessionguard.families.id is 'Family id; the `sid` claim of access tokens and the session id users see.';
comment on column sessionguard.families.user_id is 'Clerk user id (text, e.g. user_2abc...), the `sub` claim.';
comment on column sessionguard.families.clerk_session_id is 'Clerk session id (sess_...) the family was started from; Clerk webhooks revoke by it.';
comment on column sessionguard.families.device_name is 'Name the client gave the device at start, shown to the user.';
comment on column sessionguard.families.user_agent is 'User agent of the latest start or refresh.';
comment on column sessionguard.families.ip is 'Client IP of the latest start or refresh.';
comment on column sessionguard.families.generation is 'Number of the only refresh token that may rotate now; moves forward by exactly one per rotation.';
comment on column sessionguard.families.rotated_at is 'Time of the latest rotation; the reuse grace window is measured from it.';
comment on column sessionguard.families.created_at is 'Start of the session.';
comment on column sessionguard.families.last_active_at is 'Time of the latest start or refresh.';
comment on column sessionguard.families.idle_expires_at is 'The session ends if not refreshed before this time (idle timeout).';
comment on column sessionguard.families.expires_at is 'Absolute end of the session, however active.';
comment on column sessionguard.families.revoked_at is 'When the session was ended; null while it may still be live.';
comment on column sessionguard.families.revoked_reason is 'Why the session was ended; the security event type written for it.';
comment on column sessionguard.families.dpop_jkt is 'RFC 7638 thumbprint of the DPoP key the family is bound to, if any.';
comment on column sessionguard.families.actor_id is
  'Clerk user id of whoever started this session on the user''s behalf (the Clerk token''s act.sub, impersonation); null for the user''s own.';

create table sessionguard.events (
  id bigint generated always as identity,
  user_id text not null,
  session_id uuid,
  type text not null,
  ip inet,
  user_agent text,
  description text not null,
  created_at timestamptz not null default now(),
  actor_id text,
  constraint events_pkey primary key (id),
  constraint events_user_id_check check (length(user_id) between 1 and 255),
  constraint events_user_agent_check check (length(user_agent) <= 1024),
  constraint events_actor_id_check check (length(actor_id) between 1 and 255),
  constraint events_type_check check (type in (
    'session_started', 'signed_out', 'session_revoked', 'refresh_token_reused',
    'session_expired', 'clerk_session_ended', 'user_deleted', 'dpop_key_mismatch',
    'clerk_revoke_failed'))
);

comment on table sessionguard.events is
  'Security events of a user''s sessions, for the user to read (GET /events) and for audit.';
comment on column sessionguard.events.id is 'Event id, increasing.';
comment on column sessionguard.events.user_id is 'Clerk user id the event concerns.';
comment on column sessionguard.events.session_id is 'Family the event concerns; kept after the family is purged.';
comment on column sessionguard.events.type is 'What happened; one of a closed set.';
comment on column sessionguard.events.ip is 'Client IP of the request that caused the event, if any.';
comment on column sessionguard.events.user_agent is 'User agent of the request that caused the event, if any.';
comment on column sessionguard.events.description is 'A sentence a user understands.';
comment on column sessionguard.events.created_at is 'When it happened.';
comment on column sessionguard.events.actor_id is
  'For a session started by impersonation, the Clerk user id of the impersonator; null otherwise.';

-- A Clerk session token stays valid for up to 60 s after Clerk ends the session, so the
-- end is remembered and /start refuses such tokens.
create table sessionguard.clerk_endings (
  kind text not null,
  clerk_id text not null,
  ended_at timestamptz not null,
  constraint clerk_endings_pkey primary key (kind, clerk_id),
  constraint clerk_endings_kind_check check (kind in ('session', 'user')),
  constraint clerk_endings_clerk_id_check check (length(clerk_id) between 1 and 255)
);
comment on table sessionguard.clerk_endings is
  'Clerk sessions that ended and users that were deleted (from Clerk webhooks); /start refuses their tokens.';
comment on column sessionguard.clerk_endings.kind is 'session (a Clerk session id) or user (a Clerk user id).';
comment on column sessionguard.clerk_endings.clerk_id is 'The Clerk session or user id.';
comment on column sessionguard.clerk_endings.ended_at is 'When Clerk reported the end.';

create table sessionguard.webhook_deliveries (
  id text not null,
  event_type text not null,
  received_at timestamptz not null,
  constraint webhook_deliveries_pkey primary key (id),
  constraint webhook_deliveries_id_check check (length(id) between 1 and 255),
  constraint webhook_deliveries_event_type_check check (length(event_type) between 1 and 255)
);
comment on table sessionguard.webhook_deliveries is
  'Clerk webhook deliveries already applied, by svix-id, so that a replay acts only once.';
comment on column sessionguard.webhook_deliveries.id is 'The svix-id header of the delivery.';
comment on column sessionguard.webhook_deliveries.event_type is 'The Clerk event type it carried.';
comment on column sessionguard.webhook_deliveries.received_at is 'When it was applied.';

-- Unlogged: a counter lost in a crash only forgives a few requests, and skipping the
-- WAL keeps the per-request write cheap.
create unlogged table sessionguard.rate_limits (
  key text not null,
  window_start timestamptz not null,
  hits integer not null,
  constraint rate_limits_pkey primary key (key),
  constraint rate_limits_key_check check (length(key) between 1 and 300),
  constraint rate_limits_hits_check check (hits >= 0)
);
comment on table sessionguard.rate_limits is
  'Fixed-window request counters for /start and /refresh, per client ip and per family or user.';
comment on column sessionguard.rate_limits.key is 'What is counted, e.g. refresh:ip:203.0.113.7 or refresh:family:<uuid>.';
comment on column sessionguard.rate_limits.window_start is 'Start of the current window.';
comment on column sessionguard.rate_limits.hits is 'Requests counted in the current window.';

create table sessionguard.dpop_proofs (
  jkt text not null,
  jti text not null,
  expires_at timestamptz not null,
  constraint dpop_proofs_pkey primary key (jkt, jti),
  constraint dpop_proofs_jkt_check check (jkt ~ '^[A-Za-z0-9_-]{43}$'),
  constraint dpop_proofs_jti_check check (length(jti) between 1 and 255)
);
comment on table sessionguard.dpop_proofs is
  'DPoP proof ids already used, per key, kept until the proof could no longer be accepted.';
comment on column sessionguard.dpop_proofs.jkt is 'RFC 7638 thumbprint of the key that signed the proof.';
comment on column sessionguard.dpop_proofs.jti is 'The proof''s jti.';
comment on column sessionguard.dpop_proofs.expires_at is 'After this the proof''s iat is out of the window anyway.';

/*
 * purge_expired finds idle sessions by sweeping the live families in id order, a bounded
 * range per call (idle_expires_at moves on every rotation, so it has no index: one would
 * make every rotation a non-HOT update). This is where the sweep stopped.
 */
create table sessionguard.purge_cursors (
  name text not null,
  last_id uuid,
  constraint purge_cursors_pkey primary key (name),
  constraint purge_cursors_name_check check (name in ('idle_families'))
);
comment on table sessionguard.purge_cursors is
  'Where each bounded sweep of purge_expired stopped; the next call continues after it.';
comment on column sessionguard.purge_cursors.name is 'Which sweep (idle_families).';
comment on column sessionguard.purge_cursors.last_id is 'Last family id the sweep looked at; null to start from the lowest id.';
insert into sessionguard.purge_cursors (name, last_id) values ('idle_families', null);

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

comment on index sessionguard.families_pkey is 'Families by id, live and ended: the answer for a token of an ended family (session_revoked), revocation, status.';
comment on index sessionguard.events_pkey is 'Events by id.';

/*
 * The live families by id: the lookup of every rotation and of the RLS helper, and the
 * order of purge's idle sweep. Ended families wait for purge (a day by default, longer
 * when purge falls behind) and may outnumber live ones many times; the primary key holds
 * them all, this index only the live ones, so what a refresh reads stays proportional to
 * the live sessions. A rotation does not change revoked_at, so it stays a HOT update.
 */
create index families_live_id_idx on sessionguard.families (id) where revoked_at is null;
comment on index sessionguard.families_live_id_idx is 'Live families by id: rotations, the RLS helper, the idle sweep.';

-- Live sessions of a user: listing, "sign out everywhere", user-scope theft response.
create index families_user_id_idx on sessionguard.families (user_id) where revoked_at is null;
comment on index sessionguard.families_user_id_idx is 'Live families of a user.';

-- Clerk webhooks revoke every family started from one Clerk session.
create index families_clerk_session_id_idx on sessionguard.families (clerk_session_id)
  where clerk_session_id is not null;
comment on index sessionguard.families_clerk_session_id_idx is 'Families by the Clerk session they started from.';

-- Purge finds families ended long ago. revoked_at is written once, so this index never
-- stops a rotation from being a HOT update.
create index families_revoked_at_idx on sessionguard.families (revoked_at) where revoked_at is not null;
comment on index sessionguard.families_revoked_at_idx is 'Ended families, oldest first, for purging.';

create index families_expires_at_idx on sessionguard.families (expires_at) where revoked_at is null;
comment on index sessionguard.families_expires_at_idx is 'Live families by absolute expiry, for purging.';

create index events_user_id_created_at_idx on sessionguard.events (user_id, created_at desc, id desc);
comment on index sessionguard.events_user_id_created_at_idx is 'A user''s events, newest first.';

create index events_created_at_idx on sessionguard.events (created_at);
comment on index sessionguard.events_created_at_idx is 'Events by age, for purging.';

comment on index sessionguard.purge_cursors_pkey is 'Sweep cursors by name.';
comment on index sessionguard.clerk_endings_pkey is 'Endings by kind and Clerk id: the lookup /start makes.';
create index clerk_endings_ended_at_idx on sessionguard.clerk_endings (ended_at);
comment on index sessionguard.clerk_endings_ended_at_idx is 'Endings by age, for purging.';

comment on index sessionguard.webhook_deliveries_pkey is 'Deliveries by svix-id: the replay check.';

create index webhook_deliveries_received_at_idx on sessionguard.webhook_deliveries (received_at);
comment on index sessionguard.webhook_deliveries_received_at_idx is 'Deliveries by age, for purging.';

comment on index sessionguard.rate_limits_pkey is 'Counters by key: the one lookup of a rate check.';
comment on index sessionguard.dpop_proofs_pkey is 'Proofs by key and jti: the replay check.';

create index rate_limits_window_start_idx on sessionguard.rate_limits (window_start);
comment on index sessionguard.rate_limits_window_start_idx is 'Counters by age, for purging.';

create index dpop_proofs_expires_at_idx on sessionguard.dpop_proofs (expires_at);
comment on index sessionguard.dpop_proofs_expires_at_idx is 'Proofs by expiry, for purging.';

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

-- Argument checks of the API functions: every bad argument raises SQLSTATE 22023 with a
-- message naming it, before anything is written.
create function sessionguard.require(p_ok boolean, p_message text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_ok is not true then
    raise exception using errcode = 'invalid_parameter_value', message = p_message;
  end if;
end;
$$;
comment on function sessionguard.require(boolean, text) is
  'Raises 22023 invalid_parameter_value with the message unless the condition is true.';

create function sessionguard.require_user_id(p_user_id text)
returns void
language sql
immutable
set search_path = ''
as $$
  select sessionguard.require(length(p_user_id) between 1 and 255,
    'p_user_id must be a Clerk user id of 1 to 255 characters');
$$;
comment on function sessionguard.require_user_id(text) is 'Validates a Clerk user id argument.';

create function sessionguard.require_user_agent(p_user_agent text)
returns void
language sql
immutable
set search_path = ''
as $$
  select sessionguard.require(p_user_agent is null or length(p_user_agent) <= 1024,
    'p_user_agent must be at most 1024 characters');
$$;
comment on function sessionguard.require_user_agent(text) is 'Validates a user agent argument (at most 1024 characters, or null).';

create function sessionguard.describe_event(p_type text, p_device_name text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case p_type
    when 'session_started' then format('You signed in on %s.', d)
    when 'signed_out' then format('You signed out of %s.', d)
    when 'session_revoked' then format('The session on %s was ended.', d)
    when 'refresh_token_reused' then format(
      'A sign-in token of the session on %s was used twice, which can mean it was stolen. '
      'The session was ended to protect your account.', d)
    when 'session_expired' then format('The session on %s expired.', d)
    when 'clerk_session_ended' then format('The session on %s ended because you signed out of your account.', d)
    when 'user_deleted' then format('The session on %s ended because the account was deleted.', d)
    when 'dpop_key_mismatch' then format(
      'A sign-in token of the session on %s was presented by a device that does not hold its key, and was refused.', d)
    when 'clerk_revoke_failed' then format(
      'After a stolen token was detected on %s, your account''s sign-in could not be ended automatically. '
      'Sign out of your account everywhere to be safe.', d)
  end
  from (select coalesce(nullif(p_device_name, ''), 'a device') as d) as device;
$$;
comment on function sessionguard.describe_event(text, text) is
  'The sentence shown to a user for a security event of the given type.';

-- Who and where the current request comes from, for the events its changes write.
-- Transaction-local, set by the API functions before they change anything.
create function sessionguard.set_request_context(p_ip inet, p_user_agent text)
returns void
language sql
volatile
set search_path = ''
as $$
  select set_config('sessionguard.ip', coalesce(host(p_ip), ''), true),
         set_config('sessionguard.user_agent', coalesce(p_user_agent, ''), true);
$$;
comment on function sessionguard.set_request_context(inet, text) is
  'Records the client ip and user agent of the current transaction for the security events it writes.';

/*
 * Every security event is announced twice: pg_notify on channel `sessionguard` (for
 * servers that LISTEN), and, where Supabase Realtime is installed, a private broadcast
 * on topic `sessionguard:<user id>` so that the user's other open tabs and devices learn
 * of it at once. realtime.send is called dynamically because plain Postgres (and a
 * project without Realtime) has no such function.
 *
 * Any role that may connect can LISTEN on any channel, so the notification carries ids
 * only (event, session, user); a listener reads the event itself with its own
 * privileges. The Realtime broadcast is private (its topic is authorised per user by
 * Realtime's policies) and carries the event as the user sees it.
 */
create function sessionguard.record_event(
  p_user_id text, p_session_id uuid, p_type text, p_device_name text, p_actor_id text default null)
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
  values (p_user_id, p_session_id, p_type, v_ip::inet, v_user_agent,
          sessionguard.describe_event(p_type, p_device_name)
            || case when p_actor_id is not null and p_type = 'session_started'
                    then format(' It was started by %s acting on your behalf (impersonation).', p_actor_id)
                    else '' end,
          p_actor_id)
  returning * into v_event;

  perform pg_notify('sessionguard', jsonb_build_object(
    'id', v_event.id, 'session_id', v_event.session_id, 'user_id', v_event.user_id)::text);
  v_payload := jsonb_build_object(
    'id', v_event.id, 'type', v_event.type, 'session_id', v_event.session_id,
    'user_id', v_event.user_id, 'created_at', v_event.created_at,
    'description', v_event.description);
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null then
    -- Built with format() so that static checkers do not resolve a schema that
    -- may not exist where the migration is linted.
    execute format('select %I.send($1, $2, $3, true)', 'realtime')
      using v_payload, v_event.type, 'sessionguard:' || p_user_id;
  end if;
end;
$$;
comment on function sessionguard.record_event(text, uuid, text, text, text) is
  'Writes a security event with the request context (and the impersonator, if any); announces its ids by pg_notify and the event by a private Realtime broadcast where present.';

-- ---------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------

/*
 * The invariants rotation depends on, enforced below the API so that no code path, not
 * even a hand-written INSERT or UPDATE, can break them:
 *  - every column keeps its rule (the families_*_check names below): ids and names of
 *    bounded length, a DPoP thumbprint of RFC 7638 shape, the idle expiry never after
 *    the absolute one, a revocation always with a reason from the closed set;
 *  - a family's identity never changes (id, user, Clerk session, start, absolute expiry,
 *    key binding, impersonator);
 *  - the generation moves forward by exactly one, so there is never a second successor;
 *  - a revoked family stays revoked: nothing about it changes any more.
 *
 * Why a trigger and not CHECK constraints: PostgreSQL re-reads every CHECK constraint of
 * a table from its stored node text, and plans and compiles it again, on every INSERT or
 * UPDATE statement (ExecRelCheck in src/backend/executor/execMain.c), whether or not the
 * statement touches the columns it names. With ten rules that was about a third of the
 * CPU of a rotation (stringToNode and expression set-up on top of a profile of
 * rotate_session). A PL/pgSQL trigger compiles its expressions once per connection. The
 * rules raise SQLSTATE 23514 (check_violation) naming the rule as the constraint, as a
 * CHECK constraint would. Like every trigger, these do not fire for a superuser who sets
 * session_replication_role = replica (bulk loads of benchmarks do).
 */
create function sessionguard.guard_family()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_rule text;
begin
  if tg_op = 'UPDATE' then
    if old.revoked_at is not null then
      raise exception 'session % is revoked and cannot change', old.id
        using errcode = 'object_not_in_prerequisite_state';
    end if;
    if new.id <> old.id or new.user_id <> old.user_id
       or new.clerk_session_id is distinct from old.clerk_session_id
       or new.created_at <> old.created_at or new.expires_at <> old.expires_at
       or new.dpop_jkt is distinct from old.dpop_jkt or new.actor_id is distinct from old.actor_id then
      raise exception 'the identity of session % cannot change', old.id
        using errcode = 'check_violation';
    end if;
    if new.generation <> old.generation and new.generation <> old.generation + 1 then
      raise exception 'the generation of session % can only move forward by one (% to %)',
        old.id, old.generation, new.generation
        using errcode = 'check_violation';
    end if;
    -- The identity columns were checked when the row was inserted and did not change:
    -- only the columns an update may write are checked again.
    v_rule := case
      when not (length(new.device_name) <= 200) then 'families_device_name_check'
      when not (length(new.user_agent) <= 1024) then 'families_user_agent_check'
      when not (new.idle_expires_at <= new.expires_at) then 'families_lifetime_check'
      when not ((new.revoked_at is null) = (new.revoked_reason is null)) then 'families_revoked_check'
      when not (new.revoked_reason in ('signed_out', 'session_revoked', 'refresh_token_reused',
                'session_expired', 'clerk_session_ended', 'user_deleted')) then 'families_revoked_reason_check'
    end;
  else
    v_rule := case
      when not (length(new.user_id) between 1 and 255) then 'families_user_id_check'
      when not (length(new.clerk_session_id) between 1 and 255) then 'families_clerk_session_id_check'
      when not (length(new.device_name) <= 200) then 'families_device_name_check'
      when not (length(new.user_agent) <= 1024) then 'families_user_agent_check'
      when not (new.generation >= 0) then 'families_generation_check'
      when not (new.expires_at > new.created_at and new.idle_expires_at <= new.expires_at) then 'families_lifetime_check'
      when not ((new.revoked_at is null) = (new.revoked_reason is null)) then 'families_revoked_check'
      when not (new.revoked_reason in ('signed_out', 'session_revoked', 'refresh_token_reused',
                'session_expired', 'clerk_session_ended', 'user_deleted')) then 'families_revoked_reason_check'
      when not (new.dpop_jkt ~ '^[A-Za-z0-9_-]{43}$') then 'families_dpop_jkt_check'
      when not (length(new.actor_id) between 1 and 255) then 'families_actor_id_check'
    end;
  end if;
  if v_rule is not null then
    raise exception 'new row for relation "families" violates check constraint "%"', v_rule
      using errcode = 'check_violation', constraint = v_rule, schema = 'sessionguard', table = 'families';
  end if;
  return new;
end;
$$;
comment on function sessionguard.guard_family() is
  'Trigger: every column keeps its rule; identity stays fixed, generation moves forward by one, revocation is final.';

create trigger families_guard_insert
  before insert on sessionguard.families
  for each row execute function sessionguard.guard_family();

create trigger families_guard_update
  before update on sessionguard.families
  for each row execute function sessionguard.guard_family();

create function sessionguard.on_family_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform sessionguard.record_event(new.user_id, new.id, 'session_started', new.device_name, new.actor_id);
  elsif old.revoked_at is null and new.revoked_at is not null then
    perform sessionguard.record_event(new.user_id, new.id, new.revoked_reason, new.device_name, new.actor_id);
  end if;
  return null;
end;
$$;
comment on function sessionguard.on_family_change() is
  'Trigger: every start and every revocation writes a security event and a notification.';

create trigger families_record_start
  after insert on sessionguard.families
  for each row execute function sessionguard.on_family_change();

create trigger families_record_revocation
  after update of revoked_at on sessionguard.families
  for each row when (old.revoked_at is null and new.revoked_at is not null)
  execute function sessionguard.on_family_change();

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

alter table sessionguard.families enable row level security;
alter table sessionguard.events enable row level security;
alter table sessionguard.clerk_endings enable row level security;
alter table sessionguard.purge_cursors enable row level security;
alter table sessionguard.webhook_deliveries enable row level security;
alter table sessionguard.rate_limits enable row level security;
alter table sessionguard.dpop_proofs enable row level security;
-- Only families and events have policies: no API role reads the other tables; only the
-- functions do.

-- sessionguard.user_id() is defined in the RLS helper migration; policies here compare
-- the row's owner with the request JWT's `sub` directly so this file stands alone.
create policy families_select_own on sessionguard.families
  for select to authenticated
  using (user_id = (select auth.jwt() ->> 'sub'));
comment on policy families_select_own on sessionguard.families is 'A user reads only their own sessions.';

create policy events_select_own on sessionguard.events
  for select to authenticated
  using (user_id = (select auth.jwt() ->> 'sub'));
comment on policy events_select_own on sessionguard.events is 'A user reads only their own security events.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke all on sessionguard.families, sessionguard.events, sessionguard.clerk_endings,
  sessionguard.webhook_deliveries, sessionguard.rate_limits, sessionguard.dpop_proofs, sessionguard.purge_cursors
  from public, anon, authenticated, service_role;

-- Users may read what describes their sessions; generation, rotation time and key
-- binding stay out of reach of every API role.
grant usage on schema sessionguard to anon, authenticated, service_role;
grant select (id, user_id, device_name, user_agent, ip, created_at, last_active_at,
              idle_expires_at, expires_at, revoked_at, revoked_reason)
  on sessionguard.families to authenticated;
grant select on sessionguard.events to authenticated;

revoke execute on function
  sessionguard.require(boolean, text),
  sessionguard.require_user_id(text),
  sessionguard.require_user_agent(text),
  sessionguard.describe_event(text, text),
  sessionguard.set_request_context(inet, text),
  sessionguard.record_event(text, uuid, text, text, text),
  sessionguard.guard_family(),
  sessionguard.on_family_change()
from public, anon, authenticated, service_role;
