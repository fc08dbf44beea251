-- sessionguard: reacting to Clerk's lifecycle, and telling Clerk about theft.
--
-- Clerk tells us (through Svix-signed webhooks) when a Clerk session ends or a user is
-- deleted. Every family started from that session (or of that user) is revoked, and
-- the end is remembered in clerk_endings: a Clerk session token stays valid for up to
-- 60 s after Clerk ends the session, and start_session refuses it in that time.
-- Webhook deliveries are remembered by `svix-id`, so a replayed delivery acts once.
--
-- Sections: tables, indexes, RLS policies, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

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

comment on index sessionguard.webhook_deliveries_pkey is 'Deliveries by svix-id: the replay check.';

create index webhook_deliveries_received_at_idx on sessionguard.webhook_deliveries (received_at);
comment on index sessionguard.webhook_deliveries_received_at_idx is 'Deliveries by age, for purging.';

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

alter table sessionguard.webhook_deliveries enable row level security;
-- No policy: no API role reads or writes it; only the functions below do.

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
    -- Waits for /starts of this Clerk session in flight; later ones wait for this commit
    -- (lock_clerk_ids, session API migration).
    perform sessionguard.lock_clerk_ids(p_clerk_session_id, null, true);
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values ('session', p_clerk_session_id, p_now)
    on conflict (kind, clerk_id) do nothing;
    update sessionguard.families f set revoked_at = p_now, revoked_reason = 'clerk_session_ended'
    where f.clerk_session_id = p_clerk_session_id and f.revoked_at is null;
    get diagnostics v_revoked = row_count;
    return query select 'applied'::text, v_revoked;
  elsif p_event_type = 'user.deleted' then
    perform sessionguard.lock_clerk_ids(null, p_user_id, true);
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

/*
 * When a stolen refresh token is detected and CLERK_SECRET_KEY is set, the session
 * function also asks Clerk to end the Clerk session the family came from. If Clerk
 * cannot be reached after the bounded retries, the failure must not be lost: it becomes
 * a security event the user (and the app) can see.
 */
create function sessionguard.record_clerk_revoke_failed(
  p_session_id uuid, p_ip inet default null, p_user_agent text default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v sessionguard.families%rowtype;
begin
  perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
  perform sessionguard.require_context(p_user_agent);
  select * into v from sessionguard.families f where f.id = p_session_id;
  if not found then
    return false;
  end if;
  perform sessionguard.set_request_context(p_ip, p_user_agent);
  perform sessionguard.record_event(v.user_id, v.id, 'clerk_revoke_failed', v.device_name, v.actor_id);
  return true;
end;
$$;
comment on function sessionguard.record_clerk_revoke_failed(uuid, inet, text) is
  'Records that ending the Clerk session of a family caught with a reused token failed; false when the family is unknown.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke all on sessionguard.webhook_deliveries from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.purge_clerk_records(timestamptz, interval, interval),
  sessionguard.record_clerk_revoke_failed(uuid, inet, text)
from public, anon, authenticated;

grant execute on function
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.purge_clerk_records(timestamptz, interval, interval),
  sessionguard.record_clerk_revoke_failed(uuid, inet, text)
to service_role;
