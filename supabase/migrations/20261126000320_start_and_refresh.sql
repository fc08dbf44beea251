-- sessionguard: starting a session, and refreshing it.
--
-- start_session turns a verified Clerk session into a family; refresh_session is what
-- /refresh calls: rate limits, the DPoP proof's replay check and rotate_session
-- (…000310_rotation_and_reuse_detection.sql, where reuse is detected), in one round trip.
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only (the edge function connects with the project's
-- database URL). Time is a parameter so tests can move it; durations are seconds.
-- Bad arguments raise SQLSTATE 22023 with a message naming the argument, before
-- anything is written.
--
-- Sections: API functions (start, refresh), grants.

-- ---------------------------------------------------------------------------------------
-- API functions: start
-- ---------------------------------------------------------------------------------------

/*
 * start_session refuses a Clerk session that has ended or a deleted user, in the same
 * round trip as the insert. This raises (SQLSTATE 28000) rather than returning a code:
 * nothing is written that would need to survive the refusal.
 */
create function sessionguard.start_session(
  p_user_id text,
  p_clerk_session_id text,
  p_device_name text,
  p_user_agent text,
  p_ip inet,
  p_idle_timeout integer,
  p_absolute_lifetime integer,
  p_dpop_jkt text default null,
  p_now timestamptz default now(),
  p_actor_id text default null
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
  perform sessionguard.require_user_agent(p_user_agent);
  perform sessionguard.require(p_idle_timeout > 0, 'p_idle_timeout must be a positive number of seconds');
  perform sessionguard.require(p_absolute_lifetime > 0, 'p_absolute_lifetime must be a positive number of seconds');
  perform sessionguard.require(p_dpop_jkt is null or p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$',
    'p_dpop_jkt must be null or an RFC 7638 SHA-256 thumbprint');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(p_actor_id is null or length(p_actor_id) between 1 and 255,
    'p_actor_id must be null or a Clerk user id of 1 to 255 characters');

  perform sessionguard.lock_clerk_ids(p_clerk_session_id, p_user_id, false);
  if sessionguard.clerk_ended(p_clerk_session_id, p_user_id) then
    raise exception 'the Clerk session has ended or the user was deleted'
      using errcode = 'invalid_authorization_specification';
  end if;

  perform sessionguard.set_request_context(p_ip, p_user_agent);
  return query
  insert into sessionguard.families as f (
    user_id, clerk_session_id, device_name, user_agent, ip, created_at, last_active_at,
    idle_expires_at, expires_at, dpop_jkt, actor_id)
  values (
    p_user_id, p_clerk_session_id, p_device_name, p_user_agent, p_ip, p_now, p_now,
    least(p_now + make_interval(secs => p_idle_timeout), p_now + make_interval(secs => p_absolute_lifetime)),
    p_now + make_interval(secs => p_absolute_lifetime), p_dpop_jkt, p_actor_id)
  returning f.id, f.generation, f.expires_at, f.idle_expires_at;
end;
$$;
comment on function sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text) is
  'Starts a session family at generation 0 for a verified Clerk user (p_actor_id: the impersonator, if any) and writes a session_started event; raises 28000 for an ended Clerk session or deleted user.';

-- ---------------------------------------------------------------------------------------
-- API functions: refresh
-- ---------------------------------------------------------------------------------------

/*
 * A refresh in one round trip: rate limits (per family, and per ip when given; count_request),
 * the DPoP proof's replay check (use_dpop_proof), then rotate_session. Each refusal before the rotation leaves the family
 * untouched, so the client may retry the same token later.
 *
 * The family's budget belongs to whoever can rotate it. For a family bound to a device
 * key, a caller without a proof from that key (a thief replaying any old token, from as
 * many forged addresses as it likes) is counted in a separate budget of the family's
 * strangers, and its proof id is not stored: it can spend neither the owner's refreshes
 * nor the proof table, and rotate_session writes it one event a minute at most. The
 * binding never changes (guard_family), so reading it before the rotation's lock
 * is safe.
 */
create function sessionguard.refresh_session(
  p_session_id uuid,
  p_generation bigint,
  p_ip inet,
  p_user_agent text,
  p_idle_timeout integer,
  p_reuse_grace integer,
  p_theft_scope text,
  p_dpop_jkt text default null,
  p_dpop_jti text default null,
  p_dpop_lifetime integer default 300,
  p_rate_limit integer default null,
  p_rate_window integer default 60,
  p_ip_rate_limit integer default null,
  p_now timestamptz default now()
)
returns table (
  result text, session_id uuid, user_id text, generation bigint,
  expires_at timestamptz, clerk_session_id text, dpop_jkt text, retry_after integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_retry integer;
  v_bound text;
  v_stranger boolean;
begin
  if (p_session_id is not null and (p_dpop_jkt is null) = (p_dpop_jti is null)
      and (p_dpop_jti is null or length(p_dpop_jti) between 1 and 255)
      and p_dpop_lifetime between 1 and 3600 and p_now is not null) is not true then
    perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
    perform sessionguard.require((p_dpop_jkt is null) = (p_dpop_jti is null),
      'p_dpop_jkt and p_dpop_jti come together');
    perform sessionguard.require(p_dpop_jti is null or length(p_dpop_jti) between 1 and 255,
      'p_dpop_jti must be 1 to 255 characters');
    perform sessionguard.require(p_dpop_lifetime between 1 and 3600, 'p_dpop_lifetime must be 1 to 3600 seconds');
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;

  select f.dpop_jkt into v_bound from sessionguard.families f where f.id = p_session_id;
  v_stranger := v_bound is not null and v_bound is distinct from p_dpop_jkt;

  -- The family's own budget (or its strangers'), and a larger one for everything behind
  -- one ip (many users can share an address).
  if p_rate_limit is not null then
    v_retry := sessionguard.count_request('refresh', p_session_id::text, p_ip, p_rate_limit,
      p_ip_rate_limit, p_rate_window, p_now, v_stranger);
    if v_retry > 0 then
      return query select 'rate_limited'::text, p_session_id, null::text, null::bigint,
        null::timestamptz, null::text, null::text, v_retry;
      return;
    end if;
  end if;

  if p_dpop_jti is not null and not v_stranger then
    perform sessionguard.require(p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$', 'p_dpop_jkt must be an RFC 7638 thumbprint');
    if not sessionguard.use_dpop_proof(p_dpop_jkt, p_dpop_jti, p_dpop_lifetime, p_now) then
      return query select 'dpop_replay'::text, p_session_id, null::text, null::bigint,
        null::timestamptz, null::text, null::text, 0;
      return;
    end if;
  end if;

  return query
  select r.result, r.session_id, r.user_id, r.generation, r.expires_at, r.clerk_session_id, r.dpop_jkt, 0
  from sessionguard.rotate_session(p_session_id, p_generation, p_ip, p_user_agent, p_idle_timeout,
                                   p_reuse_grace, p_theft_scope, p_dpop_jkt, p_now) r;
end;
$$;
comment on function sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz) is
  'Rate limit, DPoP replay check and rotation in one call. result: rotate_session''s results, or rate_limited (with retry_after) or dpop_replay.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz)
to service_role;
