-- sessionguard: the guards every route counts, rate limits and DPoP proof ids.
--
-- Rate limits are counted in Postgres so that they hold across every instance of the
-- edge function (each Edge Runtime isolate has its own memory); their keys are built in
-- one place, count_request (…000500_refresh_decision.sql). DPoP proof ids (`jti`) are
-- remembered for the proof's lifetime so that a captured proof cannot be replayed.
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
  sessionguard.use_dpop_proof(text, text, integer, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.use_dpop_proof(text, text, integer, timestamptz)
to service_role;
