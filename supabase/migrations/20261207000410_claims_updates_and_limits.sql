-- sessionguard: how a session's Clerk claims are set and changed, and how many
-- sessions a user may hold (P15).
--
--   start_session_with_claims  /start: the session limit, then start_session
--                              (…000320_start_and_refresh.sql) and the token's claims
--   update_session_claims      /claims: a fresh Clerk token of the same Clerk session
--                              switches the organization or records a re-verification
--   apply_clerk_org_event      Clerk's organization webhooks, once per delivery
--
-- Organization webhooks can cross a Clerk token that is up to 60 s old. Their ends are
-- remembered in clerk_endings (kinds 'membership' and 'organization'), and a token
-- issued before such an end brings no organization. /start and /claims take a shared
-- advisory lock on the organization and the webhooks an exclusive one, so a start or a
-- switch either commits before the webhook (which then finds and changes it) or reads
-- the ending after it, as lock_clerk_ids does for Clerk sessions (…000210).
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only. Time is a parameter so tests can move it.
--
-- Sections: tables (constraint), internal functions, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

alter table sessionguard.clerk_endings drop constraint clerk_endings_kind_check;
alter table sessionguard.clerk_endings add constraint clerk_endings_kind_check
  check (kind in ('session', 'user', 'membership', 'organization'));
comment on column sessionguard.clerk_endings.kind is
  'session (a Clerk session id), user (a Clerk user id), membership (<org id> <user id>) or organization (an org id).';

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

create function sessionguard.lock_org(p_org_id text, p_exclusive boolean)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  if p_org_id is null then
    return;
  elsif p_exclusive then
    perform pg_advisory_xact_lock(hashtextextended('sessionguard:clerk_org:' || p_org_id, 0));
  else
    perform pg_advisory_xact_lock_shared(hashtextextended('sessionguard:clerk_org:' || p_org_id, 0));
  end if;
end;
$$;
comment on function sessionguard.lock_org(text, boolean) is
  'Serialises starts and claim updates (shared) against organization webhooks (exclusive) for one organization.';

-- Whether the user's membership of the organization (or the organization) ended after a
-- Clerk token issued at p_issued_at: then the token's organization claims are out of date.
create function sessionguard.org_ended(p_org_id text, p_user_id text, p_issued_at timestamptz)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from sessionguard.clerk_endings e
    where ((e.kind = 'organization' and e.clerk_id = p_org_id)
        or (e.kind = 'membership' and e.clerk_id = p_org_id || ' ' || p_user_id))
      and e.ended_at >= p_issued_at);
$$;
comment on function sessionguard.org_ended(text, text, timestamptz) is
  'True when Clerk reported the membership or organization ended at or after the token''s issue time.';

create function sessionguard.require_claims(
  p_org_id text, p_org_role text, p_org_slug text, p_org_permissions text[], p_claims_issued_at timestamptz)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform sessionguard.require(p_org_id is null or length(p_org_id) between 1 and 255,
    'p_org_id must be null or 1 to 255 characters');
  perform sessionguard.require(p_org_role is null or length(p_org_role) between 1 and 255,
    'p_org_role must be null or 1 to 255 characters');
  perform sessionguard.require(p_org_slug is null or length(p_org_slug) between 1 and 255,
    'p_org_slug must be null or 1 to 255 characters');
  perform sessionguard.require(p_org_permissions is null
      or (cardinality(p_org_permissions) <= 500 and array_position(p_org_permissions, null) is null),
    'p_org_permissions must be null or at most 500 permission names');
  perform sessionguard.require(p_org_id is not null or (p_org_role is null and p_org_slug is null
      and p_org_permissions is null), 'organization claims need p_org_id');
  perform sessionguard.require(p_claims_issued_at is not null, 'p_claims_issued_at must not be null');
end;
$$;
comment on function sessionguard.require_claims(text, text, text, text[], timestamptz) is
  'Validates the Clerk claims arguments of start_session_with_claims and update_session_claims.';

-- ---------------------------------------------------------------------------------------
-- API functions: start with claims and the session limit
-- ---------------------------------------------------------------------------------------

/*
 * The limit counts the user's live sessions under an exclusive per-user lock (two
 * concurrent starts must not both find room). Past it, 'revoke-oldest' ends the least
 * recently used sessions, each with an event that says why; 'refuse' starts nothing,
 * writes an event that says so, and returns limit_reached instead of raising, so that
 * the event is committed.
 */
create function sessionguard.start_session_with_claims(
  p_user_id text,
  p_clerk_session_id text,
  p_device_name text,
  p_user_agent text,
  p_ip inet,
  p_idle_timeout integer,
  p_absolute_lifetime integer,
  p_claims_issued_at timestamptz,
  p_dpop_jkt text default null,
  p_now timestamptz default now(),
  p_actor_id text default null,
  p_org_id text default null,
  p_org_role text default null,
  p_org_slug text default null,
  p_org_permissions text[] default null,
  p_verified_at timestamptz default null,
  p_max_sessions integer default null,
  p_limit_mode text default 'revoke-oldest'
)
returns table (
  result text, session_id uuid, generation bigint, expires_at timestamptz, idle_expires_at timestamptz,
  org_id text, org_role text, org_slug text, org_permissions text[])
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_started record;
  v_old record;
  v_live integer;
  v_device text := coalesce(nullif(p_device_name, ''), 'a device');
begin
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require_claims(p_org_id, p_org_role, p_org_slug, p_org_permissions, p_claims_issued_at);
  perform sessionguard.require(p_max_sessions is null or p_max_sessions between 1 and 10000,
    'p_max_sessions must be null or 1 to 10000');
  perform sessionguard.require(p_limit_mode in ('revoke-oldest', 'refuse'),
    'p_limit_mode must be ''revoke-oldest'' or ''refuse''');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');
  perform sessionguard.require_user_agent(p_user_agent);
  perform sessionguard.require(p_device_name is null or length(p_device_name) <= 200,
    'p_device_name must be at most 200 characters');

  if p_max_sessions is not null then
    perform pg_advisory_xact_lock(hashtextextended('sessionguard:session_limit:' || p_user_id, 0));
    select count(*) into v_live from sessionguard.families f
    where f.user_id = p_user_id and f.revoked_at is null
      and f.expires_at > p_now and f.idle_expires_at > p_now;
    if v_live >= p_max_sessions then
      perform sessionguard.set_request_context(p_ip, p_user_agent);
      if p_limit_mode = 'refuse' then
        perform sessionguard.announce_event(p_user_id, null, 'session_limit_reached', format(
          'A sign-in on %s was refused: you already have %s active sessions, the most your account allows. '
          'Sign out of a session you no longer use, then try again.', v_device, v_live), p_actor_id);
        return query select 'limit_reached'::text, null::uuid, null::bigint, null::timestamptz,
          null::timestamptz, null::text, null::text, null::text, null::text[];
        return;
      end if;
      for v_old in
        select f.id, f.device_name, f.actor_id from sessionguard.families f
        where f.user_id = p_user_id and f.revoked_at is null
          and f.expires_at > p_now and f.idle_expires_at > p_now
        order by f.last_active_at, f.id
        limit v_live - p_max_sessions + 1
        for update
      loop
        perform sessionguard.announce_event(p_user_id, v_old.id, 'session_limit_reached', format(
          'The session on %s was signed out because you signed in on %s and your account allows at most '
          '%s active sessions; it was the one used least recently.',
          coalesce(nullif(v_old.device_name, ''), 'a device'), v_device, p_max_sessions), v_old.actor_id);
        update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_revoked'
        where f.id = v_old.id;
      end loop;
    end if;
  end if;

  perform sessionguard.lock_org(p_org_id, false);
  select * into v_started from sessionguard.start_session(
    p_user_id, p_clerk_session_id, p_device_name, p_user_agent, p_ip, p_idle_timeout,
    p_absolute_lifetime, p_dpop_jkt, p_now, p_actor_id) s;

  -- start_session took the Clerk locks; an organization ending committed before them is seen here.
  if p_org_id is not null and sessionguard.org_ended(p_org_id, p_user_id, p_claims_issued_at) then
    update sessionguard.families f set verified_at = p_verified_at, claims_issued_at = p_claims_issued_at
    where f.id = v_started.session_id;
    return query select 'started'::text, v_started.session_id, v_started.generation, v_started.expires_at,
      v_started.idle_expires_at, null::text, null::text, null::text, null::text[];
    return;
  end if;
  update sessionguard.families f
  set org_id = p_org_id, org_role = p_org_role, org_slug = p_org_slug, org_permissions = p_org_permissions,
      verified_at = p_verified_at, claims_issued_at = p_claims_issued_at
  where f.id = v_started.session_id;
  return query select 'started'::text, v_started.session_id, v_started.generation, v_started.expires_at,
    v_started.idle_expires_at, p_org_id, p_org_role, p_org_slug, p_org_permissions;
end;
$$;
comment on function sessionguard.start_session_with_claims(text, text, text, text, inet, integer, integer, timestamptz, text, timestamptz, text, text, text, text, text[], timestamptz, integer, text) is
  'start_session with the Clerk token''s claims and the per-user session limit: started (with the recorded organization) or limit_reached (nothing started, an event written).';

-- ---------------------------------------------------------------------------------------
-- API functions: claims from a fresh Clerk token
-- ---------------------------------------------------------------------------------------

/*
 * Decided under the family's row lock. The token must be of the family's own Clerk
 * session, user and impersonator (mismatch), not older than the newest token or
 * organization webhook already applied (stale), and the family live. Only then are the
 * claims written, with one event when something a user would notice changed. A refusal
 * changes nothing.
 */
create function sessionguard.update_session_claims(
  p_session_id uuid,
  p_user_id text,
  p_clerk_session_id text,
  p_claims_issued_at timestamptz,
  p_actor_id text default null,
  p_org_id text default null,
  p_org_role text default null,
  p_org_slug text default null,
  p_org_permissions text[] default null,
  p_verified_at timestamptz default null,
  p_ip inet default null,
  p_user_agent text default null,
  p_now timestamptz default now()
)
returns table (
  result text, expires_at timestamptz, dpop_jkt text,
  org_id text, org_role text, org_slug text, org_permissions text[])
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v sessionguard.families%rowtype;
  v_org text := p_org_id;
  v_verified timestamptz;
  v_words text[] := '{}';
  v_device text;
begin
  perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
  perform sessionguard.require_user_id(p_user_id);
  perform sessionguard.require(length(p_clerk_session_id) between 1 and 255,
    'p_clerk_session_id must be 1 to 255 characters');
  perform sessionguard.require_claims(p_org_id, p_org_role, p_org_slug, p_org_permissions, p_claims_issued_at);
  perform sessionguard.require_user_agent(p_user_agent);
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  perform sessionguard.lock_org(p_org_id, false);
  select * into v from sessionguard.families f where f.id = p_session_id for update;
  if not found then
    return query select 'not_found'::text, null::timestamptz, null::text, null::text, null::text, null::text, null::text[];
    return;
  end if;
  if v.user_id <> p_user_id or v.clerk_session_id is distinct from p_clerk_session_id
     or v.actor_id is distinct from p_actor_id then
    return query select 'mismatch'::text, null::timestamptz, null::text, null::text, null::text, null::text, null::text[];
    return;
  end if;
  if v.revoked_at is not null then
    return query select (case when v.revoked_reason = 'session_expired' then 'expired' else 'revoked' end),
      null::timestamptz, null::text, null::text, null::text, null::text, null::text[];
    return;
  end if;
  if v.expires_at <= p_now or v.idle_expires_at <= p_now then
    return query select 'expired'::text, null::timestamptz, null::text, null::text, null::text, null::text, null::text[];
    return;
  end if;
  if p_claims_issued_at < v.claims_issued_at then
    return query select 'stale'::text, null::timestamptz, null::text, null::text, null::text, null::text, null::text[];
    return;
  end if;

  if v_org is not null and sessionguard.org_ended(v_org, p_user_id, p_claims_issued_at) then
    v_org := null;
  end if;
  v_verified := greatest(v.verified_at, p_verified_at);
  v_device := coalesce(nullif(v.device_name, ''), 'a device');
  if v_org is distinct from v.org_id then
    v_words := v_words || case when v_org is null
      then format('The session on %s left organization %s.', v_device, sessionguard.describe_org(v.org_id, v.org_slug))
      else format('The session on %s switched to organization %s as %s.', v_device,
        sessionguard.describe_org(v_org, p_org_slug), coalesce(p_org_role, 'a member')) end;
  elsif v_org is not null and p_org_role is distinct from v.org_role then
    v_words := v_words || format('Your role in organization %s is now %s on %s.',
      sessionguard.describe_org(v_org, p_org_slug), coalesce(p_org_role, 'none'), v_device);
  end if;
  if v_verified is distinct from v.verified_at then
    v_words := v_words || format('You confirmed your identity on %s.', v_device);
  end if;

  update sessionguard.families f
  set org_id = v_org,
      org_role = case when v_org is null then null else p_org_role end,
      org_slug = case when v_org is null then null else p_org_slug end,
      org_permissions = case when v_org is null then null else p_org_permissions end,
      verified_at = v_verified,
      claims_issued_at = p_claims_issued_at
  where f.id = v.id;
  if cardinality(v_words) > 0 then
    perform sessionguard.set_request_context(p_ip, p_user_agent);
    perform sessionguard.announce_event(v.user_id, v.id, 'session_claims_changed',
      array_to_string(v_words, ' '), v.actor_id);
  end if;
  return query select (case when cardinality(v_words) > 0 then 'updated' else 'unchanged' end),
    v.expires_at, v.dpop_jkt, v_org,
    case when v_org is null then null else p_org_role end,
    case when v_org is null then null else p_org_slug end,
    case when v_org is null then null else p_org_permissions end;
end;
$$;
comment on function sessionguard.update_session_claims(uuid, text, text, timestamptz, text, text, text, text, text[], timestamptz, inet, text, timestamptz) is
  'Applies a fresh Clerk token''s claims to its session under the row lock: updated | unchanged | mismatch | stale | revoked | expired | not_found.';

-- ---------------------------------------------------------------------------------------
-- API functions: Clerk's organization webhooks
-- ---------------------------------------------------------------------------------------

/*
 * One organization webhook delivery, applied exactly once (the delivery id is claimed
 * first, as apply_clerk_event does). p_ended_mode says what a removed membership or a
 * deleted organization does to the sessions in it: 'clear' leaves them signed in with no
 * organization, 'revoke' ends them. Every changed session gets an event in plain words.
 * claims_issued_at moves up to the event's time, so a Clerk token issued before the
 * change cannot undo it at /claims.
 */
create function sessionguard.apply_clerk_org_event(
  p_delivery_id text,
  p_event_type text,
  p_org_id text,
  p_user_id text default null,
  p_org_role text default null,
  p_org_permissions text[] default null,
  p_ended_mode text default 'clear',
  p_event_at timestamptz default null,
  p_now timestamptz default now())
returns table (result text, changed integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_at timestamptz := coalesce(p_event_at, p_now);
  v_changed integer := 0;
  v record;
  v_org text;
  v_ending text;
begin
  perform sessionguard.require(length(p_delivery_id) between 1 and 255, 'p_delivery_id must be 1 to 255 characters');
  perform sessionguard.require(p_event_type in ('organizationMembership.updated', 'organizationMembership.deleted',
    'organization.deleted'), 'p_event_type must be an organization or membership event');
  perform sessionguard.require(length(p_org_id) between 1 and 255, 'p_org_id must be 1 to 255 characters');
  perform sessionguard.require(p_event_type = 'organization.deleted' or length(p_user_id) between 1 and 255,
    'a membership event needs p_user_id');
  perform sessionguard.require(p_event_type <> 'organizationMembership.updated' or length(p_org_role) between 1 and 255,
    'organizationMembership.updated needs p_org_role');
  perform sessionguard.require(p_org_permissions is null
      or (cardinality(p_org_permissions) <= 500 and array_position(p_org_permissions, null) is null),
    'p_org_permissions must be null or at most 500 permission names');
  perform sessionguard.require(p_ended_mode in ('clear', 'revoke'), 'p_ended_mode must be ''clear'' or ''revoke''');
  perform sessionguard.require(p_now is not null, 'p_now must not be null');

  insert into sessionguard.webhook_deliveries (id, event_type, received_at)
  values (p_delivery_id, p_event_type, p_now)
  on conflict (id) do nothing;
  if not found then
    return query select 'duplicate'::text, 0;
    return;
  end if;

  perform sessionguard.set_request_context(null, null);
  -- Waits for starts and switches into this organization in flight; later ones see the ending.
  perform sessionguard.lock_org(p_org_id, true);
  if p_event_type <> 'organizationMembership.updated' then
    v_ending := case when p_event_type = 'organization.deleted' then 'organization' else 'membership' end;
    insert into sessionguard.clerk_endings (kind, clerk_id, ended_at)
    values (v_ending, case when v_ending = 'organization' then p_org_id else p_org_id || ' ' || p_user_id end, v_at)
    on conflict (kind, clerk_id) do update set ended_at = greatest(excluded.ended_at, sessionguard.clerk_endings.ended_at);
  end if;

  for v in
    select f.id, f.user_id, f.device_name, f.actor_id, f.org_slug, f.org_role, f.org_permissions
    from sessionguard.families f
    where f.org_id = p_org_id and f.revoked_at is null
      and (p_event_type = 'organization.deleted' or f.user_id = p_user_id)
    order by f.id
    for update
  loop
    v_org := sessionguard.describe_org(p_org_id, v.org_slug);
    if p_event_type = 'organizationMembership.updated' then
      continue when v.org_role = p_org_role and v.org_permissions is not distinct from p_org_permissions;
      update sessionguard.families f
      set org_role = p_org_role, org_permissions = p_org_permissions,
          claims_issued_at = greatest(f.claims_issued_at, v_at)
      where f.id = v.id;
      perform sessionguard.announce_event(v.user_id, v.id, 'org_role_changed', format(
        'Your role in organization %s changed to %s; the session on %s uses it from now on.',
        v_org, p_org_role, coalesce(nullif(v.device_name, ''), 'a device')), v.actor_id);
    else
      perform sessionguard.announce_event(v.user_id, v.id, 'org_membership_ended', format(
        '%s; the session on %s %s.',
        case when p_event_type = 'organization.deleted' then format('Organization %s was deleted', v_org)
             else format('You were removed from organization %s', v_org) end,
        coalesce(nullif(v.device_name, ''), 'a device'),
        case when p_ended_mode = 'revoke' then 'was signed out' else 'no longer has access to it' end),
        v.actor_id);
      if p_ended_mode = 'revoke' then
        update sessionguard.families f set revoked_at = p_now, revoked_reason = 'session_revoked'
        where f.id = v.id;
      else
        update sessionguard.families f
        set org_id = null, org_role = null, org_slug = null, org_permissions = null,
            claims_issued_at = greatest(f.claims_issued_at, v_at)
        where f.id = v.id;
      end if;
    end if;
    v_changed := v_changed + 1;
  end loop;
  return query select 'applied'::text, v_changed;
end;
$$;
comment on function sessionguard.apply_clerk_org_event(text, text, text, text, text, text[], text, timestamptz, timestamptz) is
  'Applies one verified Clerk organization webhook delivery once: applied | duplicate, with the number of sessions changed.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.lock_org(text, boolean),
  sessionguard.org_ended(text, text, timestamptz),
  sessionguard.require_claims(text, text, text, text[], timestamptz)
from public, anon, authenticated, service_role;

revoke execute on function
  sessionguard.start_session_with_claims(text, text, text, text, inet, integer, integer, timestamptz, text, timestamptz, text, text, text, text, text[], timestamptz, integer, text),
  sessionguard.update_session_claims(uuid, text, text, timestamptz, text, text, text, text, text[], timestamptz, inet, text, timestamptz),
  sessionguard.apply_clerk_org_event(text, text, text, text, text, text[], text, timestamptz, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.start_session_with_claims(text, text, text, text, inet, integer, integer, timestamptz, text, timestamptz, text, text, text, text, text[], timestamptz, integer, text),
  sessionguard.update_session_claims(uuid, text, text, timestamptz, text, text, text, text, text[], timestamptz, inet, text, timestamptz),
  sessionguard.apply_clerk_org_event(text, text, text, text, text, text[], text, timestamptz, timestamptz)
to service_role;
