-- sessionguard: the SQL API the edge functions call.
--
-- Every function is one round trip, `security definer` with an empty search_path, and
-- executable by `service_role` only (the edge function connects with the project's
-- database URL). Time is a parameter so tests can move it; durations are seconds.
-- Bad arguments raise SQLSTATE 22023 with a message naming the argument, before
-- anything is written.
--
-- Sections: internal functions, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

create function sessionguard.require(p_ok boolean, p_message text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_ok is not true then
    raise exception using errcode = 'invalid_parameter_value', message = p_message;
  end if;
end;
$$;
comment on function sessionguard.require(boolean, text) is
  'Raises 22023 invalid_parameter_value with the message unless the condition is true.';

create function sessionguard.require_user_id(p_user_id text)
returns void
language sql
immutable
set search_path = ''
as $$
  select sessionguard.require(length(p_user_id) between 1 and 255,
    'p_user_id must be a Clerk user id of 1 to 255 characters');
$$;
comment on function sessionguard.require_user_id(text) is 'Validates a Clerk user id argument.';

create function sessionguard.require_context(p_user_agent text)
returns void
language sql
immutable
set search_path = ''
as $$
  select sessionguard.require(p_user_agent is null or length(p_user_agent) <= 1024,
    'p_user_agent must be at most 1024 characters');
$$;
comment on function sessionguard.require_context(text) is 'Validates request context arguments.';

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

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

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
  perform sessionguard.require_context(p_user_agent);
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
begin
  -- One test for the common case; the checks that name the bad argument run only when
  -- it fails.
  if (p_session_id is not null and p_generation >= 0 and p_idle_timeout > 0
      and p_reuse_grace between 0 and 60 and p_theft_scope in ('family', 'user')
      and p_now is not null and (p_user_agent is null or length(p_user_agent) <= 1024)) is not true then
    perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
    perform sessionguard.require(p_generation >= 0, 'p_generation must be a non-negative integer');
    perform sessionguard.require_context(p_user_agent);
    perform sessionguard.require(p_idle_timeout > 0, 'p_idle_timeout must be a positive number of seconds');
    perform sessionguard.require(p_reuse_grace between 0 and 60, 'p_reuse_grace must be 0 to 60 seconds');
    perform sessionguard.require(p_theft_scope in ('family', 'user'), 'p_theft_scope must be ''family'' or ''user''');
    perform sessionguard.require(p_now is not null, 'p_now must not be null');
  end if;

  -- Fast path, one compare-and-set: the current token of a live family (bound to this
  -- key, if bound). A concurrent rotation that won the row makes the generation test
  -- fail on re-check (READ COMMITTED re-evaluates the WHERE on the new row version), so
  -- the loser falls through to the locked slow path below and gets the grace answer.
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
  if found then
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
  -- The minute is counted like a rate limit (check_rate_limit, refresh guards
  -- migration), on the request's clock.
  if v.dpop_jkt is not null and v.dpop_jkt is distinct from p_dpop_jkt then
    if sessionguard.check_rate_limit(array['event:dpop_key_mismatch:' || v.id::text], 1, 60, p_now) = 0 then
      perform sessionguard.record_event(v.user_id, v.id, 'dpop_key_mismatch', v.device_name, v.actor_id);
    end if;
    return query select 'dpop_mismatch'::text, v.id, v.user_id, v.generation, v.expires_at,
      v.clerk_session_id, v.dpop_jkt;
    return;
  end if;

  if p_generation = v.generation then
    return query
    update sessionguard.families f
    set generation = f.generation + 1,
        rotated_at = p_now,
        last_active_at = p_now,
        idle_expires_at = least(p_now + make_interval(secs => p_idle_timeout), f.expires_at),
        ip = coalesce(p_ip, f.ip),
        user_agent = coalesce(p_user_agent, f.user_agent)
    where f.id = v.id
    returning 'rotated'::text, f.id, f.user_id, f.generation, f.expires_at,
      f.clerk_session_id, f.dpop_jkt;
    return;
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
end;
$$;
comment on function sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz) is
  'Rotates a refresh token in one transaction. result: rotated | grace | reused | revoked | expired | not_found | dpop_mismatch; generation is the successor''s.';

create function sessionguard.session_status(
  p_session_id uuid, p_user_id text, p_now timestamptz default now())
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((
    select case
      when f.revoked_reason = 'session_expired' then 'expired'
      when f.revoked_at is not null then 'revoked'
      when f.expires_at <= p_now or f.idle_expires_at <= p_now then 'expired'
      else 'active'
    end
    from sessionguard.families f
    where f.id = p_session_id and f.user_id = p_user_id), 'not_found');
$$;
comment on function sessionguard.session_status(uuid, text, timestamptz) is
  'active | revoked | expired | not_found for a session of a user, for requests authenticated by access token.';

create function sessionguard.revoke_session(
  p_user_id text, p_session_id uuid, p_reason text default 'session_revoked',
  p_now timestamptz default now())
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
  perform sessionguard.require(p_reason in ('signed_out', 'session_revoked'),
    'p_reason must be ''signed_out'' or ''session_revoked''');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  update sessionguard.families f set revoked_at = p_now, revoked_reason = p_reason
  where f.id = p_session_id and f.user_id = p_user_id and f.revoked_at is null;
  if found then
    return true;
  end if;
  return exists (select 1 from sessionguard.families f
                 where f.id = p_session_id and f.user_id = p_user_id);
end;
$$;
comment on function sessionguard.revoke_session(text, uuid, text, timestamptz) is
  'Ends one session of a user. True when the session is the user''s (ended now or before), false otherwise.';

create function sessionguard.revoke_other_sessions(
  p_user_id text, p_keep_session_id uuid, p_now timestamptz default now())
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_keep_session_id is not null, 'p_keep_session_id must not be null');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  update sessionguard.families f set revoked_at = p_now, revoked_reason = 'signed_out'
  where f.user_id = p_user_id and f.id <> p_keep_session_id and f.revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function sessionguard.revoke_other_sessions(text, uuid, timestamptz) is
  'Signs a user out of every session but one; returns how many were ended.';

create function sessionguard.revoke_user_sessions(
  p_user_id text, p_reason text, p_now timestamptz default now())
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_reason in ('signed_out', 'session_revoked', 'refresh_token_reused', 'user_deleted'),
    'p_reason must be one of signed_out, session_revoked, refresh_token_reused, user_deleted');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  update sessionguard.families f set revoked_at = p_now, revoked_reason = p_reason
  where f.user_id = p_user_id and f.revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function sessionguard.revoke_user_sessions(text, text, timestamptz) is
  'Ends every session of a user; returns how many were ended.';

create function sessionguard.revoke_clerk_session(
  p_clerk_session_id text, p_reason text, p_now timestamptz default now())
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform sessionguard.require(length(p_clerk_session_id) between 1 and 255,
    'p_clerk_session_id must be 1 to 255 characters');
  perform sessionguard.require(p_reason in ('clerk_session_ended', 'session_revoked', 'user_deleted'),
    'p_reason must be one of clerk_session_ended, session_revoked, user_deleted');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  update sessionguard.families f set revoked_at = p_now, revoked_reason = p_reason
  where f.clerk_session_id = p_clerk_session_id and f.revoked_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function sessionguard.revoke_clerk_session(text, text, timestamptz) is
  'Ends every family started from one Clerk session; returns how many were ended.';

create function sessionguard.list_sessions(p_user_id text, p_now timestamptz default now())
returns table (
  id uuid, device_name text, user_agent text, ip inet, created_at timestamptz,
  last_active_at timestamptz, expires_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  return query
  select f.id, f.device_name, f.user_agent, f.ip, f.created_at, f.last_active_at, f.expires_at
  from sessionguard.families f
  where f.user_id = p_user_id and f.revoked_at is null
    and f.expires_at > p_now and f.idle_expires_at > p_now
  order by f.last_active_at desc, f.id
  limit 500;
end;
$$;
comment on function sessionguard.list_sessions(text, timestamptz) is
  'A user''s live sessions, most recently active first.';

create function sessionguard.list_events(p_user_id text, p_limit integer default 50)
returns table (
  id bigint, type text, session_id uuid, created_at timestamptz, ip inet,
  user_agent text, description text)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(p_limit between 1 and 500, 'p_limit must be 1 to 500');
  return query
  select e.id, e.type, e.session_id, e.created_at, e.ip, e.user_agent, e.description
  from sessionguard.events e
  where e.user_id = p_user_id
  order by e.created_at desc, e.id desc
  limit p_limit;
end;
$$;
comment on function sessionguard.list_events(text, integer) is
  'A user''s security events, newest first.';

/*
 * Purge runs in bounded batches and skips rows that a refresh holds locked, so it never
 * waits on (or blocks) a rotation. Each call does at most p_batch of each step, and each
 * step reads through an index only what it may act on, however large the table:
 *  1. families ended longer ago than the retention are deleted, oldest first, by the
 *     index on revoked_at (their tokens then answer invalid_refresh_token, which is what
 *     an expired token deserves; their events stay);
 *  2. live families past their absolute expiry are ended, by the index on expires_at;
 *  3. idle families (no refresh before idle_expires_at) are ended from one range of at
 *     most 10 x p_batch live families in id order, continuing where the previous call
 *     stopped (purge_cursors) and starting over at the end: idle_expires_at moves on every
 *     rotation, so it has no index to search by.
 * Ending a family writes its session_expired event. Events are kept longer, for the
 * user's history.
 */
create function sessionguard.purge_expired(
  p_now timestamptz default now(),
  p_retention interval default interval '1 day',
  p_batch integer default 1000,
  p_event_retention interval default interval '90 days')
returns table (expired integer, deleted integer, events_deleted integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_expired integer;
  v_idle integer := 0;
  v_deleted integer;
  v_events integer;
  v_cursor uuid;
  v_range uuid[];
  v_idle_ids uuid[];
begin
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require(p_retention >= interval '0', 'p_retention must not be negative');
  perform sessionguard.require(p_event_retention >= interval '0', 'p_event_retention must not be negative');
  perform sessionguard.require(p_batch between 1 and 100000, 'p_batch must be 1 to 100000');

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

  delete from sessionguard.events e
  where e.id in (
    select o.id from sessionguard.events o
    where o.created_at < p_now - p_event_retention
    order by o.created_at
    limit p_batch);
  get diagnostics v_events = row_count;

  return query select v_expired + v_idle, v_deleted, v_events;
end;
$$;
comment on function sessionguard.purge_expired(timestamptz, interval, integer, interval) is
  'Deletes families and events past retention and ends sessions that ran out (absolute expiry by index, idle ones in a bounded id range per call), one bounded batch per call.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.require(boolean, text),
  sessionguard.lock_clerk_ids(text, text, boolean),
  sessionguard.clerk_ended(text, text),
  sessionguard.require_user_id(text),
  sessionguard.require_context(text),
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz),
  sessionguard.session_status(uuid, text, timestamptz),
  sessionguard.revoke_session(text, uuid, text, timestamptz),
  sessionguard.revoke_other_sessions(text, uuid, timestamptz),
  sessionguard.revoke_user_sessions(text, text, timestamptz),
  sessionguard.revoke_clerk_session(text, text, timestamptz),
  sessionguard.list_sessions(text, timestamptz),
  sessionguard.list_events(text, integer),
  sessionguard.purge_expired(timestamptz, interval, integer, interval)
from public, anon, authenticated;

grant execute on function
  sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text),
  sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz),
  sessionguard.session_status(uuid, text, timestamptz),
  sessionguard.revoke_session(text, uuid, text, timestamptz),
  sessionguard.revoke_other_sessions(text, uuid, timestamptz),
  sessionguard.revoke_user_sessions(text, text, timestamptz),
  sessionguard.revoke_clerk_session(text, text, timestamptz),
  sessionguard.list_sessions(text, timestamptz),
  sessionguard.list_events(text, integer),
  sessionguard.purge_expired(timestamptz, interval, integer, interval)
to service_role;
