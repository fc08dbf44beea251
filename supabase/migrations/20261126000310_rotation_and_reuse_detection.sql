-- sessionguard: rotating a refresh token, and detecting reuse.
--
-- Where reuse is detected: rotate_session. Every refresh reaches it through
-- refresh_session (…000320_start_and_refresh.sql), which first counts the request's rate
-- limits and remembers its DPoP proof (…000300_rate_limits_and_dpop_proofs.sql), all in
-- the same round trip and transaction as the rotation itself.
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only (the edge function connects with the project's
-- database URL). Time is a parameter so tests can move it; durations are seconds.
-- Bad arguments raise SQLSTATE 22023 with a message naming the argument, before
-- anything is written.
--
-- Sections: API functions (rotation, where reuse is detected), grants.

-- ---------------------------------------------------------------------------------------
-- API functions: rotation, where reuse is detected
-- ---------------------------------------------------------------------------------------

/*
 * Rotation. The family row is locked (`for update`) for the whole decision, so
 * concurrent refreshes of one family run one after another: the first moves the
 * generation forward, every later one sees the moved generation and either gets the
 * same successor back (grace) or is reuse. Two successors cannot exist (P9).
 *
 * Decisions that must outlive the request (revoking on reuse, ending an expired
 * session) are returned as result codes, never raised: an exception would roll the
 * revocation back together with everything else.
 */
create function sessionguard.rotate_session(
  p_session_id uuid,
  p_generation bigint,
  p_ip inet,
  p_user_agent text,
  p_idle_timeout integer,
  p_reuse_grace integer,
  p_theft_scope text,
  p_dpop_jkt text default null,
  p_now timestamptz default now()
)
returns table (
  result text, session_id uuid, user_id text, generation bigint,
  expires_at timestamptz, clerk_session_id text, dpop_jkt text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v sessionguard.families%rowtype;
  v_locked boolean := false;
begin
  -- One test for the common case; the checks that name the bad argument run only when
  -- it fails.
  if (p_session_id is not null and p_generation >= 0 and p_idle_timeout > 0
      and p_reuse_grace between 0 and 60 and p_theft_scope in ('family', 'user')
      and p_now is not null and (p_user_agent is null or length(p_user_agent) <= 1024)) is not true then
    perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
    perform sessionguard.require(p_generation >= 0, 'p_generation must be a non-negative integer');
    perform sessionguard.require_user_agent(p_user_agent);
    perform sessionguard.require(p_idle_timeout > 0, 'p_idle_timeout must be a positive number of seconds');
    perform sessionguard.require(p_reuse_grace between 0 and 60, 'p_reuse_grace must be 0 to 60 seconds');
    perform sessionguard.require(p_theft_scope in ('family', 'user'), 'p_theft_scope must be ''family'' or ''user''');
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;

  /*
   * The rotation is one compare-and-set, written once: the current token of a live family
   * (bound to this key, if bound) moves the generation forward. It runs first without a
   * lock. A concurrent rotation that won the row makes the generation test fail on
   * re-check (READ COMMITTED re-evaluates the WHERE on the new row version), so the loser
   * falls through to the locked path below and gets the grace answer. When the locked path
   * finds the token current after all, it comes back here holding the row lock, and the
   * same statement cannot miss.
   */
  loop
    return query
    update sessionguard.families f
    set generation = f.generation + 1,
        rotated_at = p_now,
        last_active_at = p_now,
        idle_expires_at = least(p_now + make_interval(secs => p_idle_timeout), f.expires_at),
        ip = coalesce(p_ip, f.ip),
        user_agent = coalesce(p_user_agent, f.user_agent)
    where f.id = p_session_id and f.generation = p_generation and f.revoked_at is null
      and f.expires_at > p_now and f.idle_expires_at > p_now
      and (f.dpop_jkt is null or f.dpop_jkt = p_dpop_jkt)
    returning 'rotated'::text, f.id, f.user_id, f.generation, f.expires_at, f.clerk_session_id, f.dpop_jkt;
    if found or v_locked then
      return;
    end if;

    -- Slow path: every other answer is decided under the row lock. Some of them write
    -- security events, which record who asked.
    perform sessionguard.set_request_context(p_ip, p_user_agent);
    select * into v from sessionguard.families f where f.id = p_session_id for update;

    if not found then
      return query select 'not_found'::text, p_session_id, null::text, null::bigint,
        null::timestamptz, null::text, null::text;
      return;
    end if;

    if v.revoked_at is not null then
      return query select 'revoked'::text, v.id, v.user_id, v.generation, v.expires_at,
        v.clerk_session_id, v.dpop_jkt;
      return;
    end if;

    if v.expires_at <= p_now or v.idle_expires_at <= p_now then
      update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_expired'
      where f.id = v.id;
      return query select 'expired'::text, v.id, v.user_id, v.generation, v.expires_at,
        v.clerk_session_id, v.dpop_jkt;
      return;
    end if;

    -- A family bound to a device key only rotates for a proof from that key. Nothing
    -- moves: the holder of the key can still refresh, a thief without it cannot. However
    -- often strangers try, the family gets one dpop_key_mismatch event (and one
    -- announcement) a minute, so a flood cannot push the user's real events out of view.
    -- The minute is counted like a rate limit (check_rate_limit), on the request's clock;
    -- its key names the event, not a route.
    if v.dpop_jkt is not null and v.dpop_jkt is distinct from p_dpop_jkt then
      if sessionguard.check_rate_limit(array['event:dpop_key_mismatch:' || v.id::text], 1, 60, p_now) = 0 then
        perform sessionguard.record_event(v.user_id, v.id, 'dpop_key_mismatch', v.device_name, v.actor_id);
      end if;
      return query select 'dpop_mismatch'::text, v.id, v.user_id, v.generation, v.expires_at,
        v.clerk_session_id, v.dpop_jkt;
      return;
    end if;

    -- The current token of a live family, after all: rotate it, under the lock.
    if p_generation = v.generation then
      v_locked := true;
      continue;
    end if;

    -- The token spent by the latest rotation, retried within the grace window (a lost
    -- response, two tabs racing): hand back the same successor. Only that one token has
    -- this grace; with a grace of 0 every repeat is reuse.
    if p_generation = v.generation - 1 and p_reuse_grace > 0
       and p_now < v.rotated_at + make_interval(secs => p_reuse_grace) then
      return query select 'grace'::text, v.id, v.user_id, v.generation, v.expires_at,
        v.clerk_session_id, v.dpop_jkt;
      return;
    end if;

    if p_generation < v.generation then
      -- Reuse of a spent token: two parties hold this family's tokens. End it (or, with
      -- the user scope, every session of the user); the trigger writes the events.
      update sessionguard.families f
      set revoked_at = p_now, revoked_reason = 'refresh_token_reused'
      where f.revoked_at is null
        and (f.id = v.id or (p_theft_scope = 'user' and f.user_id = v.user_id));
      return query select 'reused'::text, v.id, v.user_id, v.generation, v.expires_at,
        v.clerk_session_id, v.dpop_jkt;
      return;
    end if;

    -- A generation ahead of the family was never issued: the caller's MAC check should
    -- have refused it, so treat it as an unknown token and revoke nothing.
    return query select 'not_found'::text, v.id, null::text, null::bigint,
      null::timestamptz, null::text, null::text;
    return;
  end loop;
end;
$$;
comment on function sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz) is
  'Rotates a refresh token in one transaction. result: rotated | grace | reused | revoked | expired | not_found | dpop_mismatch; generation is the successor''s.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz)
to service_role;
