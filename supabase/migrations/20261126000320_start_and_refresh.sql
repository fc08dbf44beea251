-- sessionguard: starting a session, and refreshing it.
--
-- start_session turns a verified Clerk session into a family. This version also created
-- 0.1.0's refresh_session; …000500_refresh_decision.sql replaced it (its body is in the
-- git history; tests/integration/migration-history.test.ts proves nothing changed).
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only (the edge function connects with the project's
-- database URL). Time is a parameter so tests can move it; durations are seconds.
-- Bad arguments raise SQLSTATE 22023 with a message naming the argument, before
-- anything is written.
--
-- Sections: API functions (start), grants.

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
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text)
from public, anon, authenticated;

grant execute on function
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text)
to service_role;
