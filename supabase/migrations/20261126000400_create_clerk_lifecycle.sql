-- sessionguard: reacting to Clerk's lifecycle, and announcing what happened.
--
-- Clerk tells us (through Svix-signed webhooks) when a Clerk session ends or a user is
-- deleted. Every family started from that session (or of that user) is revoked, and
-- the fact is remembered for a while: a Clerk session token stays valid for up to 60 s
-- after Clerk ends the session, and /start must refuse it in that time.
-- Webhook deliveries are remembered by `svix-id`, so a replayed delivery acts once.
--
-- Sections: tables, indexes, internal functions, RLS policies, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

create table sessionguard.clerk_endings (
  kind text not null,
  clerk_id text not null,
  ended_at timestamptz not null,
  constraint clerk_endings_pkey primary key (kind, clerk_id),
  constraint clerk_endings_kind_check check (kind in ('session', 'user')),
  constraint clerk_endings_clerk_id_check check (length(clerk_id) between 1 and 255)
);
comment on table sessionguard.clerk_endings is
  'Clerk sessions that ended and users that were deleted; /start refuses their tokens.';
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

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

comment on index sessionguard.clerk_endings_pkey is 'Endings by kind and Clerk id: the lookup /start makes.';
comment on index sessionguard.webhook_deliveries_pkey is 'Deliveries by svix-id: the replay check.';

create index clerk_endings_ended_at_idx on sessionguard.clerk_endings (ended_at);
comment on index sessionguard.clerk_endings_ended_at_idx is 'Endings by age, for purging.';

create index webhook_deliveries_received_at_idx on sessionguard.webhook_deliveries (received_at);
comment on index sessionguard.webhook_deliveries_received_at_idx is 'Deliveries by age, for purging.';

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

/*
 * Every security event is announced twice: pg_notify on channel `sessionguard` (for
 * servers that LISTEN), and, where Supabase Realtime is installed, a private broadcast
 * on topic `sessionguard:<user id>` so that the user's other open tabs and devices learn
 * of it at once. realtime.send is called dynamically because plain Postgres (and a
 * project without Realtime) has no such function.
 */
create or replace function sessionguard.record_event(
  p_user_id text, p_session_id uuid, p_type text, p_device_name text)
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
  insert into sessionguard.events (user_id, session_id, type, ip, user_agent, description)
  values (p_user_id, p_session_id, p_type, v_ip::inet, v_user_agent,
          sessionguard.describe_event(p_type, p_device_name))
  returning * into v_event;

  v_payload := jsonb_build_object(
    'id', v_event.id, 'type', v_event.type, 'session_id', v_event.session_id,
    'user_id', v_event.user_id, 'created_at', v_event.created_at,
    'description', v_event.description);
  perform pg_notify('sessionguard', v_payload::text);
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null then
    -- Built with format() so that static checkers do not resolve a schema that
    -- may not exist where the migration is linted.
    execute format('select %I.send($1, $2, $3, true)', 'realtime')
      using v_payload, v_event.type, 'sessionguard:' || p_user_id;
  end if;
end;
$$;
comment on function sessionguard.record_event(text, uuid, text, text) is
  'Writes a security event with the request context; announces it by pg_notify and, where present, a private Realtime broadcast.';

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

alter table sessionguard.clerk_endings enable row level security;
alter table sessionguard.webhook_deliveries enable row level security;
-- No policies: no API role reads or writes these tables; only the functions below do.

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

/*
 * One webhook delivery, applied exactly once. The delivery id is claimed first with
 * `on conflict do nothing`: of two concurrent copies of a delivery, one inserts and
 * acts, the other waits on the key, then sees the conflict and answers 'duplicate'.
 */
create function sessionguard.apply_clerk_event(
  p_delivery_id text,
  p_event_type text,
  p_clerk_session_id text default null,
  p_user_id text default null,
  p_now timestamptz default now())
returns table (result text, revoked integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_revoked integer := 0;
begin
  perform sessionguard.require(length(p_delivery_id) between 1 and 255, 'p_delivery_id must be 1 to 255 characters');
  perform sessionguard.require(length(p_event_type) between 1 and 255, 'p_event_type must be 1 to 255 characters');
  perform sessionguard.require(p_clerk_session_id is null or length(p_clerk_session_id) between 1 and 255,
    'p_clerk_session_id must be null or 1 to 255 characters');
  perform sessionguard.require(p_user_id is null or length(p_user_id) between 1 and 255,
    'p_user_id must be null or 1 to 255 characters');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(
    p_event_type not in ('session.revoked', 'session.ended', 'session.removed') or p_clerk_session_id is not null,
    'a session event needs p_clerk_session_id');
  perform sessionguard.require(p_event_type <> 'user.deleted' or p_user_id is not null,
    'a user.deleted event needs p_user_id');

  insert into sessionguard.webhook_deliveries (id, event_type, received_at)
  values (p_delivery_id, p_event_type, p_now)
  on conflict (id) do nothing;
  if not found then
    return query select 'duplicate'::text, 0;
    return;
  end if;

  perform sessionguard.set_request_context(null, null);
  if p_event_type in ('session.revoked', 'session.ended', 'session.removed') then
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values ('session', p_clerk_session_id, p_now)
    on conflict (kind, clerk_id) do nothing;
    update sessionguard.families f set revoked_at = p_now, revoked_reason = 'clerk_session_ended'
    where f.clerk_session_id = p_clerk_session_id and f.revoked_at is null;
    get diagnostics v_revoked = row_count;
    return query select 'applied'::text, v_revoked;
  elsif p_event_type = 'user.deleted' then
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values ('user', p_user_id, p_now)
    on conflict (kind, clerk_id) do nothing;
    update sessionguard.families f set revoked_at = p_now, revoked_reason = 'user_deleted'
    where f.user_id = p_user_id and f.revoked_at is null;
    get diagnostics v_revoked = row_count;
    return query select 'applied'::text, v_revoked;
  else
    return query select 'ignored'::text, 0;
  end if;
end;
$$;
comment on function sessionguard.apply_clerk_event(text, text, text, text, timestamptz) is
  'Applies one verified Clerk webhook delivery once: applied | ignored | duplicate, with the number of families revoked.';

create function sessionguard.clerk_ended(
  p_clerk_session_id text, p_user_id text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from sessionguard.clerk_endings e
    where (e.kind = 'session' and e.clerk_id = p_clerk_session_id)
       or (e.kind = 'user' and e.clerk_id = p_user_id));
$$;
comment on function sessionguard.clerk_ended(text, text) is
  'True when Clerk reported the session ended or the user deleted.';

/*
 * start_session refuses a Clerk session that has ended or a deleted user, in the same
 * round trip as the insert. This raises (SQLSTATE 28000) rather than returning a code:
 * nothing is written that would need to survive the refusal.
 */
create or replace function sessionguard.start_session(
  p_user_id text,
  p_clerk_session_id text,
  p_device_name text,
  p_user_agent text,
  p_ip inet,
  p_idle_timeout integer,
  p_absolute_lifetime integer,
  p_dpop_jkt text default null,
  p_now timestamptz default now()
)
returns table (session_id uuid, generation bigint, expires_at timestamptz, idle_expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_clerk_session_id is null or length(p_clerk_session_id) between 1 and 255,
    'p_clerk_session_id must be null or 1 to 255 characters');
  perform sessionguard.require(p_device_name is null or length(p_device_name) <= 200,
    'p_device_name must be at most 200 characters');
  perform sessionguard.require_context(p_user_agent);
  perform sessionguard.require(p_idle_timeout > 0, 'p_idle_timeout must be a positive number of seconds');
  perform sessionguard.require(p_absolute_lifetime > 0, 'p_absolute_lifetime must be a positive number of seconds');
  perform sessionguard.require(p_dpop_jkt is null or p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$',
    'p_dpop_jkt must be null or an RFC 7638 SHA-256 thumbprint');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  if sessionguard.clerk_ended(p_clerk_session_id, p_user_id) then
    raise exception 'the Clerk session has ended or the user was deleted'
      using errcode = 'invalid_authorization_specification';
  end if;

  perform sessionguard.set_request_context(p_ip, p_user_agent);
  return query
  insert into sessionguard.families as f (
    user_id, clerk_session_id, device_name, user_agent, ip, created_at, last_active_at,
    idle_expires_at, expires_at, dpop_jkt)
  values (
    p_user_id, p_clerk_session_id, p_device_name, p_user_agent, p_ip, p_now, p_now,
    least(p_now + make_interval(secs => p_idle_timeout), p_now + make_interval(secs => p_absolute_lifetime)),
    p_now + make_interval(secs => p_absolute_lifetime), p_dpop_jkt)
  returning f.id, f.generation, f.expires_at, f.idle_expires_at;
end;
$$;
comment on function sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz) is
  'Starts a session family at generation 0 for a verified Clerk user and writes a session_started event; raises 28000 for an ended Clerk session or deleted user.';

/*
 * Purge of the lifecycle records. Clerk session endings are needed only while a token
 * of that session can still verify (60 s, plus skew); a day is ample. Deleted users are
 * kept for the same retention as families: their tokens are long dead by then.
 * Deliveries are kept as long as Svix may retry (about three days).
 */
create function sessionguard.purge_clerk_records(
  p_now timestamptz default now(),
  p_ending_retention interval default interval '1 day',
  p_delivery_retention interval default interval '7 days')
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_endings integer;
  v_deliveries integer;
begin
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(p_ending_retention >= interval '2 minutes',
    'p_ending_retention must be at least 2 minutes (Clerk tokens live 60 s)');
  perform sessionguard.require(p_delivery_retention >= interval '3 days',
    'p_delivery_retention must be at least 3 days (Svix retries for about 3 days)');
  delete from sessionguard.clerk_endings where ended_at < p_now - p_ending_retention;
  get diagnostics v_endings = row_count;
  delete from sessionguard.webhook_deliveries where received_at < p_now - p_delivery_retention;
  get diagnostics v_deliveries = row_count;
  return v_endings + v_deliveries;
end;
$$;
comment on function sessionguard.purge_clerk_records(timestamptz, interval, interval) is
  'Deletes Clerk endings and webhook deliveries older than their retention; returns how many.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke all on sessionguard.clerk_endings, sessionguard.webhook_deliveries
  from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.record_event(text, uuid, text, text),
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.clerk_ended(text, text),
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz),
  sessionguard.purge_clerk_records(timestamptz, interval, interval)
from public, anon, authenticated;

grant execute on function
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz),
  sessionguard.purge_clerk_records(timestamptz, interval, interval)
to service_role;
