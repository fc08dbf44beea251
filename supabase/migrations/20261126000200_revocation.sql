-- sessionguard: what a user sees of their sessions, and how they end.
--
-- The status an access-token request checks, the lists behind /sessions and /events,
-- and every way a session is revoked (by its user, by Clerk, by the theft response).
-- Clerk webhooks reach these through apply_clerk_event (…000210_clerk_lifecycle.sql).
--
-- Revoking on reuse of a refresh token is decided by rotate_session
-- (…000310_rotation_and_reuse_detection.sql).
--
-- Every API function is one round trip, `security definer` with an empty search_path,
-- and executable by `service_role` only. Time is a parameter so tests can move it.
--
-- Sections: API functions (account, revocation), grants.

-- ---------------------------------------------------------------------------------------
-- API functions: what a user sees of their sessions
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- API functions: revocation
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.session_status(uuid, text, timestamptz),
  sessionguard.list_sessions(text, timestamptz),
  sessionguard.list_events(text, integer),
  sessionguard.revoke_session(text, uuid, text, timestamptz),
  sessionguard.revoke_other_sessions(text, uuid, timestamptz),
  sessionguard.revoke_user_sessions(text, text, timestamptz),
  sessionguard.revoke_clerk_session(text, text, timestamptz)
from public, anon, authenticated;

grant execute on function
  sessionguard.session_status(uuid, text, timestamptz),
  sessionguard.list_sessions(text, timestamptz),
  sessionguard.list_events(text, integer),
  sessionguard.revoke_session(text, uuid, text, timestamptz),
  sessionguard.revoke_other_sessions(text, uuid, timestamptz),
  sessionguard.revoke_user_sessions(text, text, timestamptz),
  sessionguard.revoke_clerk_session(text, text, timestamptz)
to service_role;
