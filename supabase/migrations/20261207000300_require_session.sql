-- sessionguard: the database half of `requireSession` (functions/require-session.ts), the
-- check an app's own Edge Function makes on every request it authenticates with a
-- sessionguard access token: is the session live, and, for a device-bound token, is this
-- DPoP proof new. One call, one round trip (P7 for users' functions).
--
-- Sections: API functions, grants.

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

/*
 * The session's status as session_status() answers it (active | revoked | expired |
 * not_found; an idle session is expired), and `dpop_replayed` when the session is active
 * but the proof id was already used with that key. The proof is recorded only for an
 * active session, so a dead session's requests leave no rows behind.
 */
create function sessionguard.check_access(
  p_session_id uuid,
  p_user_id text,
  p_dpop_jkt text default null,
  p_dpop_jti text default null,
  p_proof_lifetime integer default 300,
  p_now timestamptz default now())
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  perform sessionguard.require(p_session_id is not null, 'p_session_id must not be null');
  perform sessionguard.require((p_dpop_jkt is null) = (p_dpop_jti is null),
    'p_dpop_jkt and p_dpop_jti must be given together');
  v_status := sessionguard.session_status(p_session_id, p_user_id, p_now);
  if v_status = 'active' and p_dpop_jti is not null
     and not sessionguard.use_dpop_proof(p_dpop_jkt, p_dpop_jti, p_proof_lifetime, p_now) then
    return 'dpop_replayed';
  end if;
  return v_status;
end;
$$;
comment on function sessionguard.check_access(uuid, text, text, text, integer, timestamptz) is
  'For an app''s own function: active | revoked | expired | not_found | dpop_replayed for the session of a verified access token, recording its DPoP proof id.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function sessionguard.check_access(uuid, text, text, text, integer, timestamptz)
from public, anon, authenticated;
grant execute on function sessionguard.check_access(uuid, text, text, text, integer, timestamptz)
to service_role;
