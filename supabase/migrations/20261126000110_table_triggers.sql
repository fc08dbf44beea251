-- sessionguard: the invariants the database keeps below the API, and the functions every
-- later migration builds on.
--
-- The argument checks (require*) that every API function runs first, the sentence and
-- the request context of a security event (record_event, which writes and announces
-- it, is in …000400_session_claims.sql), the families guard that keeps the invariants rotation depends on, and the
-- triggers that write an event for every start and every revocation. None of these is
-- executable by an API role.
--
-- Sections: internal functions (argument checks, security events), triggers with their
-- functions (the families guard), grants.

-- ---------------------------------------------------------------------------------------
-- internal functions
-- ---------------------------------------------------------------------------------------

-- Argument checks of the API functions: every bad argument raises SQLSTATE 22023 with a
-- message naming it, before anything is written.
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

create function sessionguard.require_user_agent(p_user_agent text)
returns void
language sql
immutable
set search_path = ''
as $$
  select sessionguard.require(p_user_agent is null or length(p_user_agent) <= 1024,
    'p_user_agent must be at most 1024 characters');
$$;
comment on function sessionguard.require_user_agent(text) is 'Validates a user agent argument (at most 1024 characters, or null).';

create function sessionguard.describe_event(p_type text, p_device_name text)
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
comment on function sessionguard.describe_event(text, text) is
  'The sentence shown to a user for a security event of the given type.';

-- Who and where the current request comes from, for the events its changes write.
-- Transaction-local, set by the API functions before they change anything.
create function sessionguard.set_request_context(p_ip inet, p_user_agent text)
returns void
language sql
volatile
set search_path = ''
as $$
  select set_config('sessionguard.ip', coalesce(host(p_ip), ''), true),
         set_config('sessionguard.user_agent', coalesce(p_user_agent, ''), true);
$$;
comment on function sessionguard.set_request_context(inet, text) is
  'Records the client ip and user agent of the current transaction for the security events it writes.';

-- ---------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------

/*
 * The invariants rotation depends on, enforced below the API so that no code path, not
 * even a hand-written INSERT or UPDATE, can break them:
 *  - every column keeps its rule (the families_*_check names below): ids and names of
 *    bounded length, a DPoP thumbprint of RFC 7638 shape, the idle expiry never after
 *    the absolute one, a revocation always with a reason from the closed set;
 *  - a family's identity never changes (id, user, Clerk session, start, absolute expiry,
 *    key binding, impersonator);
 *  - the generation moves forward by exactly one, so there is never a second successor;
 *  - a revoked family stays revoked: nothing about it changes any more.
 *
 * Why a trigger and not CHECK constraints: PostgreSQL re-reads every CHECK constraint of
 * a table from its stored node text, and plans and compiles it again, on every INSERT or
 * UPDATE statement (ExecRelCheck in src/backend/executor/execMain.c), whether or not the
 * statement touches the columns it names. With ten rules that was about a third of the
 * CPU of a rotation (stringToNode and expression set-up on top of a profile of
 * rotate_session). A PL/pgSQL trigger compiles its expressions once per connection. The
 * rules raise SQLSTATE 23514 (check_violation) naming the rule as the constraint, as a
 * CHECK constraint would. Like every trigger, these do not fire for a superuser who sets
 * session_replication_role = replica (bulk loads of benchmarks do).
 */
create function sessionguard.guard_family()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_rule text;
begin
  if tg_op = 'UPDATE' then
    if old.revoked_at is not null then
      raise exception 'session % is revoked and cannot change', old.id
        using errcode = 'object_not_in_prerequisite_state';
    end if;
    if new.id <> old.id or new.user_id <> old.user_id
       or new.clerk_session_id is distinct from old.clerk_session_id
       or new.created_at <> old.created_at or new.expires_at <> old.expires_at
       or new.dpop_jkt is distinct from old.dpop_jkt or new.actor_id is distinct from old.actor_id then
      raise exception 'the identity of session % cannot change', old.id
        using errcode = 'check_violation';
    end if;
    if new.generation <> old.generation and new.generation <> old.generation + 1 then
      raise exception 'the generation of session % can only move forward by one (% to %)',
        old.id, old.generation, new.generation
        using errcode = 'check_violation';
    end if;
    -- The identity columns were checked when the row was inserted and did not change:
    -- only the columns an update may write are checked again.
    v_rule := case
      when not (length(new.device_name) <= 200) then 'families_device_name_check'
      when not (length(new.user_agent) <= 1024) then 'families_user_agent_check'
      when not (new.idle_expires_at <= new.expires_at) then 'families_lifetime_check'
      when not ((new.revoked_at is null) = (new.revoked_reason is null)) then 'families_revoked_check'
      when not (new.revoked_reason in ('signed_out', 'session_revoked', 'refresh_token_reused',
                'session_expired', 'clerk_session_ended', 'user_deleted')) then 'families_revoked_reason_check'
    end;
  else
    v_rule := case
      when not (length(new.user_id) between 1 and 255) then 'families_user_id_check'
      when not (length(new.clerk_session_id) between 1 and 255) then 'families_clerk_session_id_check'
      when not (length(new.device_name) <= 200) then 'families_device_name_check'
      when not (length(new.user_agent) <= 1024) then 'families_user_agent_check'
      when not (new.generation >= 0) then 'families_generation_check'
      when not (new.expires_at > new.created_at and new.idle_expires_at <= new.expires_at) then 'families_lifetime_check'
      when not ((new.revoked_at is null) = (new.revoked_reason is null)) then 'families_revoked_check'
      when not (new.revoked_reason in ('signed_out', 'session_revoked', 'refresh_token_reused',
                'session_expired', 'clerk_session_ended', 'user_deleted')) then 'families_revoked_reason_check'
      when not (new.dpop_jkt ~ '^[A-Za-z0-9_-]{43}$') then 'families_dpop_jkt_check'
      when not (length(new.actor_id) between 1 and 255) then 'families_actor_id_check'
    end;
  end if;
  if v_rule is not null then
    raise exception 'new row for relation "families" violates check constraint "%"', v_rule
      using errcode = 'check_violation', constraint = v_rule, schema = 'sessionguard', table = 'families';
  end if;
  return new;
end;
$$;
comment on function sessionguard.guard_family() is
  'Trigger: every column keeps its rule; identity stays fixed, generation moves forward by one, revocation is final.';

create trigger families_guard_insert
  before insert on sessionguard.families
  for each row execute function sessionguard.guard_family();

create trigger families_guard_update
  before update on sessionguard.families
  for each row execute function sessionguard.guard_family();

create function sessionguard.on_family_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform sessionguard.record_event(new.user_id, new.id, 'session_started', new.device_name, new.actor_id);
  elsif old.revoked_at is null and new.revoked_at is not null then
    perform sessionguard.record_event(new.user_id, new.id, new.revoked_reason, new.device_name, new.actor_id);
  end if;
  return null;
end;
$$;
comment on function sessionguard.on_family_change() is
  'Trigger: every start and every revocation writes a security event and a notification.';

create trigger families_record_start
  after insert on sessionguard.families
  for each row execute function sessionguard.on_family_change();

create trigger families_record_revocation
  after update of revoked_at on sessionguard.families
  for each row when (old.revoked_at is null and new.revoked_at is not null)
  execute function sessionguard.on_family_change();

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.require(boolean, text),
  sessionguard.require_user_id(text),
  sessionguard.require_user_agent(text),
  sessionguard.describe_event(text, text),
  sessionguard.set_request_context(inet, text),
  sessionguard.guard_family(),
  sessionguard.on_family_change()
from public, anon, authenticated, service_role;
