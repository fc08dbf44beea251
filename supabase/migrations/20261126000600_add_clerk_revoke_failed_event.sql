-- sessionguard: record a theft response that could not reach Clerk.
--
-- When a stolen refresh token is detected and CLERK_SECRET_KEY is set, the session
-- function also asks Clerk to end the Clerk session the family came from. If Clerk
-- cannot be reached after the bounded retries, the failure must not be lost: it becomes
-- a security event the user (and the app) can see.
--
-- Sections: tables, internal functions, API functions, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

alter table sessionguard.events drop constraint events_type_check;
alter table sessionguard.events add constraint events_type_check check (type in (
  'session_started', 'signed_out', 'session_revoked', 'refresh_token_reused',
  'session_expired', 'clerk_session_ended', 'user_deleted', 'dpop_key_mismatch',
  'clerk_revoke_failed'));

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

create or replace function sessionguard.describe_event(p_type text, p_device_name text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case p_type
    when 'session_started' then format('You signed in on %s.', d)
    when 'signed_out' then format('You signed out of %s.', d)
    when 'session_revoked' then format('The session on %s was ended.', d)
    when 'refresh_token_reused' then format(
      'A sign-in token of the session on %s was used twice, which can mean it was stolen. '
      'The session was ended to protect your account.', d)
    when 'session_expired' then format('The session on %s expired.', d)
    when 'clerk_session_ended' then format('The session on %s ended because you signed out of your account.', d)
    when 'user_deleted' then format('The session on %s ended because the account was deleted.', d)
    when 'dpop_key_mismatch' then format(
      'A sign-in token of the session on %s was presented by a device that does not hold its key, and was refused.', d)
    when 'clerk_revoke_failed' then format(
      'After a stolen token was detected on %s, your account''s sign-in could not be ended automatically. '
      'Sign out of your account everywhere to be safe.', d)
  end
  from (select coalesce(nullif(p_device_name, ''), 'a device') as d) as device;
$$;

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

create function sessionguard.record_clerk_revoke_failed(
  p_session_id uuid, p_ip inet default null, p_user_agent text default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v sessionguard.families%rowtype;
begin
  perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
  perform sessionguard.require_context(p_user_agent);
  select * into v from sessionguard.families f where f.id = p_session_id;
  if not found then
    return false;
  end if;
  perform sessionguard.set_request_context(p_ip, p_user_agent);
  perform sessionguard.record_event(v.user_id, v.id, 'clerk_revoke_failed', v.device_name);
  return true;
end;
$$;
comment on function sessionguard.record_clerk_revoke_failed(uuid, inet, text) is
  'Records that ending the Clerk session of a family caught with a reused token failed; false when the family is unknown.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function sessionguard.record_clerk_revoke_failed(uuid, inet, text)
  from public, anon, authenticated;
grant execute on function sessionguard.record_clerk_revoke_failed(uuid, inet, text) to service_role;
