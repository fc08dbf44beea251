-- sessionguard: the guards every route counts, rate limits and DPoP proof ids.
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
-- Sections: internal functions, API functions (the guards every route counts), grants.

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
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.check_rate_limit(text[], integer, integer, timestamptz)
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.count_request(text, text, inet, integer, integer, integer, timestamptz, boolean),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz)
to service_role;
