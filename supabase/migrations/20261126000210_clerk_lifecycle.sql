-- sessionguard: reacting to Clerk's lifecycle.
--
-- Clerk tells us (through Svix-signed webhooks) when a Clerk session ends or a user is
-- deleted: every family started from that session (or of that user) is revoked, and the
-- end is remembered in clerk_endings, because a Clerk session token stays valid for up to
-- 60 s after Clerk ends the session and start_session (…000320_start_and_refresh.sql)
-- refuses it in that time. Webhook deliveries are remembered by `svix-id`, so a replayed
-- delivery acts once. When ending the Clerk session of a family caught with a reused
-- token fails, that becomes a security event too.
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only. Time is a parameter so tests can move it.
--
-- Sections: internal functions (the locks /start shares with webhooks), API functions
-- (the Clerk lifecycle), grants.

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

/*
 * A Clerk webhook that ends a Clerk session (or deletes a user) and a /start of that
 * session (or user) must not interleave: start_session reads clerk_endings and then
 * inserts, apply_clerk_event inserts the ending and then revokes, so a start between the
 * webhook's insert and its commit would see no ending, and the webhook's update would
 * not see the new family, which would outlive the Clerk session. Both take transaction
 * advisory locks on the Clerk ids: starts share them (starts do not wait on each other),
 * the webhook takes its one lock exclusively, so either the start commits first and the
 * webhook's update (a new snapshot, after the lock) revokes it, or the webhook commits
 * first and the start (likewise) sees the ending. Session before user in every caller.
 */
create function sessionguard.lock_clerk_ids(
  p_clerk_session_id text, p_user_id text, p_exclusive boolean)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  if p_clerk_session_id is not null then
    if p_exclusive then
      perform pg_advisory_xact_lock(hashtextextended('sessionguard:clerk_session:' || p_clerk_session_id, 0));
    else
      perform pg_advisory_xact_lock_shared(hashtextextended('sessionguard:clerk_session:' || p_clerk_session_id, 0));
    end if;
  end if;
  if p_user_id is not null then
    if p_exclusive then
      perform pg_advisory_xact_lock(hashtextextended('sessionguard:clerk_user:' || p_user_id, 0));
    else
      perform pg_advisory_xact_lock_shared(hashtextextended('sessionguard:clerk_user:' || p_user_id, 0));
    end if;
  end if;
end;
$$;
comment on function sessionguard.lock_clerk_ids(text, text, boolean) is
  'Takes the transaction advisory locks that serialise /start against Clerk webhooks for a Clerk session and user.';

-- Whether /start must refuse a Clerk session token (start_session asks it under the locks above).
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

-- ---------------------------------------------------------------------------------------
-- API functions: the Clerk lifecycle
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
    -- (lock_clerk_ids above).
    perform sessionguard.lock_clerk_ids(p_clerk_session_id, null, true);
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values ('session', p_clerk_session_id, p_now)
    on conflict (kind, clerk_id) do nothing;
    v_revoked := sessionguard.revoke_clerk_session(p_clerk_session_id, 'clerk_session_ended', p_now);
    return query select 'applied'::text, v_revoked;
  elsif p_event_type = 'user.deleted' then
    perform sessionguard.lock_clerk_ids(null, p_user_id, true);
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values ('user', p_user_id, p_now)
    on conflict (kind, clerk_id) do nothing;
    v_revoked := sessionguard.revoke_user_sessions(p_user_id, 'user_deleted', p_now);
    return query select 'applied'::text, v_revoked;
  else
    return query select 'ignored'::text, 0;
  end if;
end;
$$;
comment on function sessionguard.apply_clerk_event(text, text, text, text, timestamptz) is
  'Applies one verified Clerk webhook delivery once: applied | ignored | duplicate, with the number of families revoked.';

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
  perform sessionguard.require_user_agent(p_user_agent);
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

revoke execute on function
  sessionguard.lock_clerk_ids(text, text, boolean),
  sessionguard.clerk_ended(text, text)
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.record_clerk_revoke_failed(uuid, inet, text)
from public, anon, authenticated;

grant execute on function
  sessionguard.apply_clerk_event(text, text, text, text, timestamptz),
  sessionguard.record_clerk_revoke_failed(uuid, inet, text)
to service_role;
