-- sessionguard: housekeeping. One entry point, purge_expired: schedule it (e.g. every
-- minute with pg_cron). Each call does one bounded batch of every step, so it never holds
-- locks for long, and skips rows a refresh holds locked, so it never waits on (or blocks)
-- a rotation:
--   purge_families       end sessions that ran out; delete those ended past the retention
--   purge_events         delete security events past their (longer) retention
--   purge_clerk_records  delete Clerk endings and webhook deliveries no longer needed
--   purge_guards         delete dead rate-limit counters and expired DPoP proof ids
-- The steps are internal: only purge_expired is executable by service_role.
--
-- Sections: internal functions (the steps), API functions, grants.

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

/*
 * The families step. It skips rows that a refresh holds locked, so it never waits on (or
 * blocks) a rotation. Each call does at most p_batch of each part, and each part reads
 * through an index only what it may act on, however large the table:
 *  1. families ended longer ago than the retention are deleted, oldest first, by the
 *     index on revoked_at (their tokens then answer invalid_refresh_token, which is what
 *     an expired token deserves; their events stay);
 *  2. live families past their absolute expiry are ended, by the index on expires_at;
 *  3. idle families (no refresh before idle_expires_at) are ended from one range of at
 *     most 10 x p_batch live families in id order, continuing where the previous call
 *     stopped (purge_cursors) and starting over at the end: idle_expires_at moves on every
 *     rotation, so it has no index to search by.
 * Ending a family writes its session_expired event. Arguments are checked by purge_expired.
 */
create function sessionguard.purge_families(p_now timestamptz, p_retention interval, p_batch integer)
returns table (expired integer, deleted integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_expired integer;
  v_idle integer := 0;
  v_deleted integer;
  v_cursor uuid;
  v_range uuid[];
  v_idle_ids uuid[];
begin
  delete from sessionguard.families f
  where f.id in (
    select d.id from sessionguard.families d
    where d.revoked_at <= p_now - p_retention
    order by d.revoked_at
    limit p_batch
    for update skip locked);
  get diagnostics v_deleted = row_count;

  update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_expired'
  where f.id in (
    select d.id from sessionguard.families d
    where d.revoked_at is null and d.expires_at <= p_now
    order by d.expires_at
    limit p_batch
    for update skip locked);
  get diagnostics v_expired = row_count;

  -- The idle sweep. A second purge running at the same time skips it (the cursor row is
  -- locked) rather than sweep the same range.
  select c.last_id into v_cursor from sessionguard.purge_cursors c
  where c.name = 'idle_families' for update skip locked;
  if found then
    select array_agg(r.id order by r.id),
           (array_agg(r.id order by r.id) filter (where r.idle_expires_at <= p_now))[1:p_batch]
    into v_range, v_idle_ids
    from (select d.id, d.idle_expires_at from sessionguard.families d
          where d.revoked_at is null and (v_cursor is null or d.id > v_cursor)
          order by d.id
          limit 10 * p_batch) r;
    if cardinality(v_idle_ids) > 0 then
      update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_expired'
      where f.id in (
        select d.id from sessionguard.families d
        where d.id = any (v_idle_ids) and d.revoked_at is null and d.idle_expires_at <= p_now
        for update skip locked);
      get diagnostics v_idle = row_count;
    end if;
    update sessionguard.purge_cursors c
    set last_id = case
      -- More idle families in this range than one batch ends: continue after the last ended.
      when cardinality(v_idle_ids) = p_batch then v_idle_ids[p_batch]
      -- A short range reached the highest id: start over from the lowest next time.
      when coalesce(cardinality(v_range), 0) < 10 * p_batch then null
      else v_range[cardinality(v_range)]
    end
    where c.name = 'idle_families';
  end if;

  return query select v_expired + v_idle, v_deleted;
end;
$$;
comment on function sessionguard.purge_families(timestamptz, interval, integer) is
  'Purge step: deletes families ended past the retention and ends sessions that ran out (absolute expiry by index, idle ones in a bounded id range per call), one bounded batch.';

-- Events are kept longer than families, for the user's history.
create function sessionguard.purge_events(p_now timestamptz, p_event_retention interval, p_batch integer)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_events integer;
begin
  delete from sessionguard.events e
  where e.id in (
    select o.id from sessionguard.events o
    where o.created_at < p_now - p_event_retention
    order by o.created_at
    limit p_batch);
  get diagnostics v_events = row_count;
  return v_events;
end;
$$;
comment on function sessionguard.purge_events(timestamptz, interval, integer) is
  'Purge step: deletes security events older than their retention, oldest first, one bounded batch.';

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
  'Purge step: deletes Clerk endings and webhook deliveries older than their retention; returns how many.';

-- Rate-limit counters and DPoP proof ids are small rows written per request.
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
  'Purge step: deletes dead rate-limit counters and expired DPoP proof ids, one bounded batch.';

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

/*
 * The one purge entry point: every step above, each one bounded batch, in one call.
 * p_batch bounds the families and events steps; the guards, small rows written on every
 * request, get ten times as many per call.
 */
create function sessionguard.purge_expired(
  p_now timestamptz default now(),
  p_retention interval default interval '1 day',
  p_batch integer default 1000,
  p_event_retention interval default interval '90 days')
returns table (
  expired integer, deleted integer, events_deleted integer,
  clerk_records_deleted integer, guards_deleted integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_expired integer;
  v_deleted integer;
begin
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(p_retention >= interval '0', 'p_retention must not be negative');
  perform sessionguard.require(p_event_retention >= interval '0', 'p_event_retention must not be negative');
  perform sessionguard.require(p_batch between 1 and 100000, 'p_batch must be 1 to 100000');

  select s.expired, s.deleted into v_expired, v_deleted
  from sessionguard.purge_families(p_now, p_retention, p_batch) s;
  return query select v_expired, v_deleted,
    sessionguard.purge_events(p_now, p_event_retention, p_batch),
    sessionguard.purge_clerk_records(p_now),
    sessionguard.purge_guards(p_now, 10 * p_batch);
end;
$$;
comment on function sessionguard.purge_expired(timestamptz, interval, integer, interval) is
  'The one housekeeping entry point: ends sessions that ran out and deletes families, events, Clerk records and guards past retention, one bounded batch of each per call.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.purge_families(timestamptz, interval, integer),
  sessionguard.purge_events(timestamptz, interval, integer),
  sessionguard.purge_clerk_records(timestamptz, interval, interval),
  sessionguard.purge_guards(timestamptz, integer)
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.purge_expired(timestamptz, interval, integer, interval)
from public, anon, authenticated;

grant execute on function
  sessionguard.purge_expired(timestamptz, interval, integer, interval)
to service_role;
