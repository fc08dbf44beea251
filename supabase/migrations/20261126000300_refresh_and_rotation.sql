-- sessionguard: starting a session, refreshing it, and detecting reuse.
--
-- Where reuse is detected: rotate_session. Every refresh reaches it through
-- refresh_session, which first counts the request's rate limits and remembers its DPoP
-- proof, all in the same round trip and transaction as the rotation itself.
--
-- Rate limits are counted in Postgres so that they hold across every instance of the
-- edge function (each Edge Runtime isolate has its own memory); their keys are built in
-- one place, count_request. DPoP proof ids (`jti`) are remembered for the proof's
-- lifetime so that a captured proof cannot be replayed.
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only (the edge function connects with the project's
-- database URL). Time is a parameter so tests can move it; durations are seconds.
-- Bad arguments raise SQLSTATE 22023 with a message naming the argument, before
-- anything is written.
--
-- Sections: internal functions, API functions (the guards every route counts, start,
-- rotation, refresh), grants.

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

/*
 * Counts one request against each key and answers how many seconds the caller must
 * wait (0 = allowed). All keys share one limit and window. A refused request still
 * counts, so hammering does not open the window any sooner.
 */
create function sessionguard.check_rate_limit(
  p_keys text[], p_limit integer, p_window integer, p_now timestamptz default now())
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_window_start timestamptz;
  v_retry integer := 0;
  v_hits integer;
  v_key text;
begin
  -- One test for the common case (every refresh counts one or two keys); the checks
  -- that name the bad argument run only when it fails. Each PERFORM is a query of its
  -- own, so the common path runs none.
  if (cardinality(p_keys) between 1 and 8 and p_limit between 1 and 1000000
      and p_window between 1 and 86400 and p_now is not null) is not true then
    perform sessionguard.require(p_keys is not null and cardinality(p_keys) between 1 and 8,
      'p_keys must hold 1 to 8 keys');
    perform sessionguard.require(p_limit between 1 and 1000000, 'p_limit must be 1 to 1000000');
    perform sessionguard.require(p_window between 1 and 86400, 'p_window must be 1 to 86400 seconds');
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;

  v_window_start := to_timestamp(floor(extract(epoch from p_now) / p_window) * p_window);
  -- Sorted, so that two requests counting the same keys lock them in the same order
  -- (a single key needs no sorting).
  foreach v_key in array case when cardinality(p_keys) = 1 then p_keys
                              else (select array_agg(distinct k order by k) from unnest(p_keys) k) end loop
    if (length(v_key) between 1 and 300) is not true then
      -- The error undoes the keys counted before it, with the rest of the statement.
      perform sessionguard.require(length(v_key) between 1 and 300, 'each key must be 1 to 300 characters');
    end if;
    insert into sessionguard.rate_limits as r (key, window_start, hits)
    values (v_key, v_window_start, 1)
    on conflict (key) do update
      set hits = case when r.window_start = excluded.window_start then r.hits + 1 else 1 end,
          window_start = excluded.window_start
    returning r.hits into v_hits;
    if v_hits > p_limit then
      v_retry := greatest(v_retry,
        ceil(extract(epoch from v_window_start + make_interval(secs => p_window) - p_now))::integer);
    end if;
  end loop;
  return greatest(v_retry, case when v_retry > 0 then 1 else 0 end);
end;
$$;
comment on function sessionguard.check_rate_limit(text[], integer, integer, timestamptz) is
  'Counts a request against each key; returns seconds to wait (0 = allowed).';

-- ---------------------------------------------------------------------------------------
-- API functions: the guards every route counts
-- ---------------------------------------------------------------------------------------

/*
 * The one place rate-limit keys are built. A request counts against its subject's budget
 * and, when an ip and an ip budget are given, against its address's (many users can share
 * an address, so that budget is larger). The keys, stored counters that live across
 * deployments (renaming one resets its live windows):
 *   start:user:<Clerk user id>     start:ip:<ip>       /start (from the TypeScript route)
 *   api:family:<session id>        api:ip:<ip>         access-token routes (TypeScript)
 *   refresh:family:<session id>    refresh:ip:<ip>     /refresh (from refresh_session)
 *   refresh:family:<session id>:stranger               /refresh of a key-bound family
 *                                                      without a proof from its key
 * Both keys share the window. Answers seconds to wait, 0 = allowed.
 */
create function sessionguard.count_request(
  p_route text,
  p_subject text,
  p_ip inet,
  p_limit integer,
  p_ip_limit integer,
  p_window integer,
  p_now timestamptz default now(),
  p_stranger boolean default false
)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_retry integer;
begin
  if (p_route in ('start', 'api', 'refresh') and length(p_subject) between 1 and 255
      and p_stranger is not null) is not true then
    perform sessionguard.require(p_route in ('start', 'api', 'refresh'), 'p_route must be start, api or refresh');
    perform sessionguard.require(length(p_subject) between 1 and 255, 'p_subject must be 1 to 255 characters');
    perform sessionguard.require(p_stranger is not null, 'p_stranger must not be null');
  end if;
  v_retry := sessionguard.check_rate_limit(
    array[p_route || case when p_route = 'start' then ':user:' else ':family:' end || p_subject
          || case when p_stranger then ':stranger' else '' end],
    p_limit, p_window, p_now);
  if p_ip_limit is not null and p_ip is not null then
    v_retry := greatest(v_retry, sessionguard.check_rate_limit(
      array[p_route || ':ip:' || host(p_ip)], p_ip_limit, p_window, p_now));
  end if;
  return v_retry;
end;
$$;
comment on function sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean) is
  'Counts a request of a route (start | api | refresh) against its subject''s and its ip''s budgets; returns seconds to wait (0 = allowed). The only builder of rate-limit keys.';

-- A DPoP proof is accepted once: /start, /refresh (through refresh_session) and every
-- bound access-token request remember its jti here.
create function sessionguard.use_dpop_proof(
  p_jkt text, p_jti text, p_lifetime integer default 300, p_now timestamptz default now())
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  -- One test for the common case (refresh_session calls this on every bound refresh);
  -- the checks that name the bad argument run only when it fails.
  if (p_jkt ~ '^[A-Za-z0-9_-]{43}$' and length(p_jti) between 1 and 255
      and p_lifetime between 1 and 3600 and p_now is not null) is not true then
    perform sessionguard.require(p_jkt ~ '^[A-Za-z0-9_-]{43}$', 'p_jkt must be an RFC 7638 thumbprint');
    perform sessionguard.require(length(p_jti) between 1 and 255, 'p_jti must be 1 to 255 characters');
    perform sessionguard.require(p_lifetime between 1 and 3600, 'p_lifetime must be 1 to 3600 seconds');
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;
  insert into sessionguard.dpop_proofs (jkt, jti, expires_at)
  values (p_jkt, p_jti, p_now + make_interval(secs => p_lifetime))
  on conflict (jkt, jti) do nothing;
  return found;
end;
$$;
comment on function sessionguard.use_dpop_proof(text, text, integer, timestamptz) is
  'Records a DPoP proof id; false when that key already used it (a replay).';

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
  sessionguard.check_rate_limit(text[], integer, integer, timestamptz)
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz),
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz),
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz)
to service_role;
