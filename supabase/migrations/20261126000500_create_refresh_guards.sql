-- sessionguard: abuse controls and device-binding replay protection around refresh.
--
-- Rate limits are counted in Postgres so that they hold across every instance of the
-- edge function (each Edge Runtime isolate has its own memory). DPoP proof ids (`jti`)
-- are remembered for the proof's lifetime so that a captured proof cannot be replayed.
-- Both are checked by refresh_session in the same round trip and transaction as the
-- rotation itself, so a refresh stays one round trip.
--
-- Sections: tables, indexes, RLS policies, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

-- Unlogged: a counter lost in a crash only forgives a few requests, and skipping the
-- WAL keeps the per-request write cheap.
create unlogged table sessionguard.rate_limits (
  key text not null,
  window_start timestamptz not null,
  hits integer not null,
  constraint rate_limits_pkey primary key (key),
  constraint rate_limits_key_check check (length(key) between 1 and 300),
  constraint rate_limits_hits_check check (hits >= 0)
);
comment on table sessionguard.rate_limits is
  'Fixed-window request counters for /start and /refresh, per client ip and per family or user.';
comment on column sessionguard.rate_limits.key is 'What is counted, e.g. refresh:ip:203.0.113.7 or refresh:family:<uuid>.';
comment on column sessionguard.rate_limits.window_start is 'Start of the current window.';
comment on column sessionguard.rate_limits.hits is 'Requests counted in the current window.';

create table sessionguard.dpop_proofs (
  jkt text not null,
  jti text not null,
  expires_at timestamptz not null,
  constraint dpop_proofs_pkey primary key (jkt, jti),
  constraint dpop_proofs_jkt_check check (jkt ~ '^[A-Za-z0-9_-]{43}$'),
  constraint dpop_proofs_jti_check check (length(jti) between 1 and 255)
);
comment on table sessionguard.dpop_proofs is
  'DPoP proof ids already used, per key, kept until the proof could no longer be accepted.';
comment on column sessionguard.dpop_proofs.jkt is 'RFC 7638 thumbprint of the key that signed the proof.';
comment on column sessionguard.dpop_proofs.jti is 'The proof''s jti.';
comment on column sessionguard.dpop_proofs.expires_at is 'After this the proof''s iat is out of the window anyway.';

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

comment on index sessionguard.rate_limits_pkey is 'Counters by key: the one lookup of a rate check.';
comment on index sessionguard.dpop_proofs_pkey is 'Proofs by key and jti: the replay check.';

create index rate_limits_window_start_idx on sessionguard.rate_limits (window_start);
comment on index sessionguard.rate_limits_window_start_idx is 'Counters by age, for purging.';

create index dpop_proofs_expires_at_idx on sessionguard.dpop_proofs (expires_at);
comment on index sessionguard.dpop_proofs_expires_at_idx is 'Proofs by expiry, for purging.';

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

alter table sessionguard.rate_limits enable row level security;
alter table sessionguard.dpop_proofs enable row level security;
-- No policies: only the functions below touch these tables.

-- ---------------------------------------------------------------------------------------
-- API functions
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

/*
 * A refresh in one round trip: rate limits (per family, and per ip when given), the DPoP proof's
 * replay check, then rotate_session. Each refusal before the rotation leaves the family
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
    v_retry := sessionguard.check_rate_limit(
      array['refresh:family:' || p_session_id::text || case when v_stranger then ':stranger' else '' end],
      p_rate_limit, p_rate_window, p_now);
    if p_ip_rate_limit is not null and p_ip is not null then
      v_retry := greatest(v_retry, sessionguard.check_rate_limit(
        array['refresh:ip:' || host(p_ip)], p_ip_rate_limit, p_rate_window, p_now));
    end if;
    if v_retry > 0 then
      return query select 'rate_limited'::text, p_session_id, null::text, null::bigint,
        null::timestamptz, null::text, null::text, v_retry;
      return;
    end if;
  end if;

  if p_dpop_jti is not null and not v_stranger then
    perform sessionguard.require(p_dpop_jkt ~ '^[A-Za-z0-9_-]{43}$', 'p_dpop_jkt must be an RFC 7638 thumbprint');
    insert into sessionguard.dpop_proofs (jkt, jti, expires_at)
    values (p_dpop_jkt, p_dpop_jti, p_now + make_interval(secs => p_dpop_lifetime))
    on conflict (jkt, jti) do nothing;
    if not found then
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

create function sessionguard.use_dpop_proof(
  p_jkt text, p_jti text, p_lifetime integer default 300, p_now timestamptz default now())
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform sessionguard.require(p_jkt ~ '^[A-Za-z0-9_-]{43}$', 'p_jkt must be an RFC 7638 thumbprint');
  perform sessionguard.require(length(p_jti) between 1 and 255, 'p_jti must be 1 to 255 characters');
  perform sessionguard.require(p_lifetime between 1 and 3600, 'p_lifetime must be 1 to 3600 seconds');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  insert into sessionguard.dpop_proofs (jkt, jti, expires_at)
  values (p_jkt, p_jti, p_now + make_interval(secs => p_lifetime))
  on conflict (jkt, jti) do nothing;
  return found;
end;
$$;
comment on function sessionguard.use_dpop_proof(text, text, integer, timestamptz) is
  'Records a DPoP proof id; false when that key already used it (a replay).';

create function sessionguard.purge_guards(p_now timestamptz default now(), p_batch integer default 10000)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_rates integer;
  v_proofs integer;
begin
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(p_batch between 1 and 1000000, 'p_batch must be 1 to 1000000');
  -- The longest window allowed is a day, so older counters are dead.
  delete from sessionguard.rate_limits r where r.key in (
    select o.key from sessionguard.rate_limits o
    where o.window_start < p_now - interval '1 day' limit p_batch);
  get diagnostics v_rates = row_count;
  delete from sessionguard.dpop_proofs d where (d.jkt, d.jti) in (
    select o.jkt, o.jti from sessionguard.dpop_proofs o where o.expires_at < p_now limit p_batch);
  get diagnostics v_proofs = row_count;
  return v_rates + v_proofs;
end;
$$;
comment on function sessionguard.purge_guards(timestamptz, integer) is
  'Deletes dead rate-limit counters and expired DPoP proof ids, one bounded batch per call.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke all on sessionguard.rate_limits, sessionguard.dpop_proofs from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.check_rate_limit(text[], integer, integer, timestamptz),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz),
  sessionguard.purge_guards(timestamptz, integer)
from public, anon, authenticated;

grant execute on function
  sessionguard.check_rate_limit(text[], integer, integer, timestamptz),
  sessionguard.refresh_session(uuid, bigint, inet, text, integer, integer, text, text, text, integer, integer, integer, integer, timestamptz),
  sessionguard.use_dpop_proof(text, text, integer, timestamptz),
  sessionguard.purge_guards(timestamptz, integer)
to service_role;
