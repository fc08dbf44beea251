-- sessionguard: the refresh decision, in one call under the family's row lock.
--
-- Where reuse is detected: refresh_session, below. It replaces 0.1.0's pair
-- (refresh_session counting the budgets, then rotate_session deciding): a thief holding
-- the current token could spend the family's budget first, and the owner's spent token
-- then met a 429 before it ever reached the reuse check (issue 21). Now the row is
-- locked first and every answer is decided under the lock, in this order:
--
--   1. the family is gone, revoked or expired;
--   2. the caller is a stranger (a family bound to a device key, and no proof from it):
--      counted in the strangers' own budgets, one dpop_key_mismatch event a minute,
--      nothing rotates (optionally the session is ended: policy dpop_mismatch = revoke);
--   3. a DPoP proof id the key already used (a captured request replayed): refused;
--   4. reuse: a spent generation that no grace covers revokes the family at once. No
--      budget is counted before this (P13: nothing can silence the detector);
--   5. budgets: the family's and its address's, for every answer that issues a token;
--   6. rotate, or hand back the successor already issued (P3 grace; P14 for a family
--      bound to a key whose proof came with the request).
-- A token-issuing answer (rotated, grace) also returns the session's Clerk claims (org,
-- impersonator; …000400_session_claims.sql), read from the row already held, so every
-- access token carries the same org_id, org_role, org_permissions and act (P15).
--
-- P14. For a family bound to a device key, the generation spent by the latest rotation,
-- presented with a proof from that key, gets the same successor again at any age, as
-- long as that successor was never presented itself (current_presented). Holding the key
-- proves it is the device whose answer was lost (a tab closed mid-refresh, an app killed
-- after the commit); without the key nothing changes. Unbound families keep only the
-- grace window: that is what keeps their theft detectable.
--
-- The policy is one jsonb object the route builds once from its settings and passes as
-- it is; every key is required (no default is repeated here or in TypeScript):
--   {"idle_timeout": s, "reuse_grace": s (0-60), "theft_scope": "family"|"user",
--    "dpop_lifetime": s, "dpop_mismatch": "refuse"|"revoke",
--    "rate_limit": {"count": n, "seconds": s} | null, "ip_rate_limit": n | null}
--
-- Sections: tables (a column), internal functions (budget keys), API functions
-- (refresh), grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

alter table sessionguard.families
  add column current_presented boolean not null default false;
comment on column sessionguard.families.current_presented is
  'The current generation was presented without rotating (refused by a budget, a replayed proof or a missing key). Cleared by the next rotation; while set, the previous generation gets no P14 answer.';

-- ---------------------------------------------------------------------------------------
-- internal functions: budget keys
-- ---------------------------------------------------------------------------------------

/*
 * The one place rate-limit keys are built. Strangers (callers that cannot prove a bound
 * family's key) are counted apart on both keys, so they spend neither the owner's
 * session budget nor the budget of the owner's address (P13):
 *   start:user:<Clerk user id>          start:ip:<ip>            /start
 *   api:family:<session id>[:stranger]  api:ip:<ip>[:stranger]   access-token routes
 *   refresh:family:<session id>[:stranger]  refresh:ip:<ip>[:stranger]   /refresh
 * Both keys share the window. Answers seconds to wait, 0 = allowed.
 */
create or replace function sessionguard.count_request(
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
  v_suffix text;
begin
  if (p_route in ('start', 'api', 'refresh') and length(p_subject) between 1 and 255
      and p_stranger is not null) is not true then
    perform sessionguard.require(p_route in ('start', 'api', 'refresh'), 'p_route must be start, api or refresh');
    perform sessionguard.require(length(p_subject) between 1 and 255, 'p_subject must be 1 to 255 characters');
    perform sessionguard.require(p_stranger is not null, 'p_stranger must not be null');
  end if;
  v_suffix := case when p_stranger then ':stranger' else '' end;
  v_retry := sessionguard.check_rate_limit(
    array[p_route || case when p_route = 'start' then ':user:' else ':family:' end || p_subject || v_suffix],
    p_limit, p_window, p_now);
  if p_ip_limit is not null and p_ip is not null then
    v_retry := greatest(v_retry, sessionguard.check_rate_limit(
      array[p_route || ':ip:' || host(p_ip) || v_suffix], p_ip_limit, p_window, p_now));
  end if;
  return v_retry;
end;
$$;
comment on function sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean) is
  'Counts a request of a route (start | api | refresh) against its subject''s and its ip''s budgets (strangers apart); returns seconds to wait (0 = allowed). The only builder of rate-limit keys.';

-- ---------------------------------------------------------------------------------------
-- API functions: refresh, where reuse is detected
-- ---------------------------------------------------------------------------------------

-- 0.1.0's pair, where a database applied …000310 and …000320 as published.
drop function if exists sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz);
drop function if exists sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz);

/*
 * A refresh, decided under the family's row lock in one round trip (the order is the
 * header's). Decisions that must outlive the request (revoking on reuse or on a foreign
 * key, ending an expired session) are returned as result codes, never raised: an
 * exception would roll the revocation back together with everything else.
 */
create function sessionguard.refresh_session(
  p_session_id uuid,
  p_generation bigint,
  p_policy jsonb,
  p_ip inet default null,
  p_user_agent text default null,
  p_dpop_jkt text default null,
  p_dpop_jti text default null,
  p_now timestamptz default now()
)
returns table (
  result text, session_id uuid, user_id text, generation bigint,
  expires_at timestamptz, clerk_session_id text, dpop_jkt text, retry_after integer,
  org_id text, org_role text, org_permissions text[], actor_id text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v sessionguard.families%rowtype;
  v_idle integer;
  v_grace integer;
  v_scope text;
  v_lifetime integer;
  v_mismatch text;
  v_limit integer;
  v_window integer;
  v_ip_limit integer;
  v_stranger boolean;
  v_retry integer := 0;
  v_answer text;
  v_current boolean;
begin
  -- The policy's keys, each required; one test for the common case, the checks that name
  -- the bad argument only when it fails.
  -- (A number that is not an integer raises 22P02 here, before anything is written.)
  v_idle := (p_policy->>'idle_timeout')::integer;
  v_grace := (p_policy->>'reuse_grace')::integer;
  v_scope := p_policy->>'theft_scope';
  v_lifetime := (p_policy->>'dpop_lifetime')::integer;
  v_mismatch := p_policy->>'dpop_mismatch';
  v_limit := (p_policy->'rate_limit'->>'count')::integer;
  v_window := (p_policy->'rate_limit'->>'seconds')::integer;
  v_ip_limit := (p_policy->>'ip_rate_limit')::integer;
  if (p_session_id is not null and p_generation >= 0 and v_idle > 0 and v_grace between 0 and 60
      and v_scope in ('family', 'user') and v_lifetime between 1 and 3600
      and v_mismatch in ('refuse', 'revoke')
      and (p_policy ? 'rate_limit') and (p_policy ? 'ip_rate_limit')
      and (v_limit is null) = (jsonb_typeof(p_policy->'rate_limit') = 'null')
      and (v_limit is null or (v_limit between 1 and 1000000 and v_window between 1 and 86400))
      and (v_ip_limit is null or v_ip_limit between 1 and 1000000)
      and (p_dpop_jkt is null) = (p_dpop_jti is null)
      and (p_dpop_jkt is null or p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$')
      and (p_dpop_jti is null or length(p_dpop_jti) between 1 and 255)
      and (p_user_agent is null or length(p_user_agent) <= 1024) and p_now is not null) is not true then
    perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
    perform sessionguard.require(p_generation >= 0, 'p_generation must be a non-negative integer');
    perform sessionguard.require(v_idle > 0, 'p_policy.idle_timeout must be a positive number of seconds');
    perform sessionguard.require(v_grace between 0 and 60, 'p_policy.reuse_grace must be 0 to 60 seconds');
    perform sessionguard.require(v_scope in ('family', 'user'), 'p_policy.theft_scope must be ''family'' or ''user''');
    perform sessionguard.require(v_lifetime between 1 and 3600, 'p_policy.dpop_lifetime must be 1 to 3600 seconds');
    perform sessionguard.require(v_mismatch in ('refuse', 'revoke'), 'p_policy.dpop_mismatch must be ''refuse'' or ''revoke''');
    perform sessionguard.require((p_policy ? 'rate_limit') and (p_policy ? 'ip_rate_limit')
      and (v_limit is null) = (jsonb_typeof(p_policy->'rate_limit') = 'null')
      and (v_limit is null or (v_limit between 1 and 1000000 and v_window between 1 and 86400)),
      'p_policy.rate_limit must be null or {"count": 1 to 1000000, "seconds": 1 to 86400}');
    perform sessionguard.require(v_ip_limit is null or v_ip_limit between 1 and 1000000,
      'p_policy.ip_rate_limit must be null or 1 to 1000000');
    perform sessionguard.require((p_dpop_jkt is null) = (p_dpop_jti is null), 'p_dpop_jkt and p_dpop_jti come together');
    perform sessionguard.require(p_dpop_jkt is null or p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$',
      'p_dpop_jkt must be an RFC 7638 thumbprint');
    perform sessionguard.require(p_dpop_jti is null or length(p_dpop_jti) between 1 and 255,
      'p_dpop_jti must be 1 to 255 characters');
    perform sessionguard.require_user_agent(p_user_agent);
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;

  -- Every answer below is decided holding the row, so concurrent refreshes of one family
  -- run one after another: the first moves the generation, the later ones see it moved.
  -- Two successors cannot exist (P9). Some answers write security events, which record
  -- who asked.
  perform sessionguard.set_request_context(p_ip, p_user_agent);
  select * into v from sessionguard.families f where f.id = p_session_id for update;

  -- 1. Gone, revoked or expired.
  if not found then
    return query select 'not_found'::text, p_session_id, null::text, null::bigint,
      null::timestamptz, null::text, null::text, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;
  if v.revoked_at is not null then
    return query select 'revoked'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;
  if v.expires_at <= p_now or v.idle_expires_at <= p_now then
    update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_expired'
    where f.id = v.id;
    return query select 'expired'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;
  if p_generation > v.generation then
    -- Never issued: the caller's MAC check should have refused it. Revoke nothing.
    return query select 'not_found'::text, v.id, null::text, null::bigint,
      null::timestamptz, null::text, null::text, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;

  v_stranger := v.dpop_jkt is not null and v.dpop_jkt is distinct from p_dpop_jkt;
  -- Any answer to the current token but a rotation marks it presented (the rotation
  -- clears the mark), so the previous one loses P14 from then on.
  v_current := p_generation = v.generation and not v.current_presented;

  -- 2. A stranger: the family is bound and the caller cannot prove its key. Nothing
  -- rotates whatever generation it holds; its budget is the strangers' own. However often
  -- strangers try, the family gets one dpop_key_mismatch event a minute (counted like a
  -- rate limit, on the request's clock), so a flood cannot push real events out of view.
  if v_stranger then
    if v_limit is not null then
      v_retry := sessionguard.count_request('refresh', v.id::text, p_ip, v_limit, v_ip_limit, v_window, p_now, true);
    end if;
    if v_current then
      update sessionguard.families f set current_presented = true where f.id = v.id;
    end if;
    if v_retry > 0 then
      v_answer := 'rate_limited';
    else
      v_answer := 'dpop_mismatch';
      if v_mismatch = 'revoke' then
        update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_revoked'
        where f.id = v.id;
      end if;
      if sessionguard.check_rate_limit(array['event:dpop_key_mismatch:' || v.id::text], 1, 60, p_now) = 0 then
        perform sessionguard.record_event(v.user_id, v.id, 'dpop_key_mismatch', v.device_name, v.actor_id);
      end if;
    end if;
    return query select v_answer, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, v_retry,
      null::text, null::text, null::text[], null::text;
    return;
  end if;

  -- 3. A proof id this key already used: a captured request replayed. Nothing changes.
  if p_dpop_jti is not null
     and not sessionguard.use_dpop_proof(p_dpop_jkt, p_dpop_jti, v_lifetime, p_now) then
    if v_current then
      update sessionguard.families f set current_presented = true where f.id = v.id;
    end if;
    return query select 'dpop_replay'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;

  -- 4. Reuse: a spent generation that neither grace covers. Two parties hold this
  -- family's tokens: end it (or, with the user scope, every session of the user); the
  -- trigger writes the events. No budget is consulted first (P13).
  if p_generation < v.generation
     and not (p_generation = v.generation - 1
              and ((v_grace > 0 and p_now < v.rotated_at + make_interval(secs => v_grace))
                   or (v.dpop_jkt is not null and not v.current_presented))) then
    update sessionguard.families f
    set revoked_at = p_now, revoked_reason = 'refresh_token_reused'
    where f.revoked_at is null
      and (f.id = v.id or (v_scope = 'user' and f.user_id = v.user_id));
    return query select 'reused'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, 0,
      null::text, null::text, null::text[], null::text;
    return;
  end if;

  -- 5. Budgets, for every answer that issues a token: the family's, and a larger one for
  -- everything behind one ip (many users can share an address).
  if v_limit is not null then
    v_retry := sessionguard.count_request('refresh', v.id::text, p_ip, v_limit, v_ip_limit, v_window, p_now, false);
    if v_retry > 0 then
      if v_current then
        update sessionguard.families f set current_presented = true where f.id = v.id;
      end if;
      return query select 'rate_limited'::text, v.id, null::text, null::bigint,
        null::timestamptz, null::text, null::text, v_retry,
      null::text, null::text, null::text[], null::text;
      return;
    end if;
  end if;

  -- 6. The successor already handed out (P3 within the window, P14 for the key's holder):
  -- the same generation, so the same token string.
  if p_generation < v.generation then
    return query select 'grace'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt, 0, v.org_id, v.org_role, v.org_permissions, v.actor_id;
    return;
  end if;

  -- The current token of a live family: rotate it.
  return query
  update sessionguard.families f
  set generation = f.generation + 1,
      rotated_at = p_now,
      current_presented = false,
      last_active_at = p_now,
      idle_expires_at = least(p_now + make_interval(secs => v_idle), f.expires_at),
      ip = coalesce(p_ip, f.ip),
      user_agent = coalesce(p_user_agent, f.user_agent)
  where f.id = v.id
  returning 'rotated'::text, f.id, f.user_id, f.generation, f.expires_at, f.clerk_session_id, f.dpop_jkt, 0,
    f.org_id, f.org_role, f.org_permissions, f.actor_id;
end;
$$;
comment on function sessionguard.refresh_session(uuid, bigint, jsonb, inet, text, text, text, timestamptz) is
  'A refresh decided under the row lock. result: rotated | grace | reused | revoked | expired | not_found | dpop_mismatch | dpop_replay | rate_limited (with retry_after); generation is the successor''s; org and actor with rotated and grace.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.refresh_session(uuid, bigint, jsonb, inet, text, text, text, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.refresh_session(uuid, bigint, jsonb, inet, text, text, text, timestamptz)
to service_role;

-- No route calls revoke_clerk_session through service_role (the webhook applies Clerk's
-- events with apply_clerk_event, which calls it as its owner): take it away.
revoke execute on function sessionguard.revoke_clerk_session(text, text, timestamptz) from service_role;
