-- sessionguard: helpers for the app's own RLS policies (P7, instant revocation).
--
-- An access token stays valid until it expires, so RLS must ask the database whether
-- the session behind it is still live. App policies add
--
--   using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()))
--
-- Wrapped in `(select ...)` each helper runs once per statement as an init plan, not
-- once per row. session_active() is in …000420_shared_lookup_text.sql, with the
-- organization and step-up helpers that share its one row lookup per statement.
--
-- Sections: API functions (helpers), grants.

/*
 * The helpers are PL/pgSQL, not SQL. A SQL function with a `set search_path`
 * clause (or `security definer`) is never inlined, and PostgreSQL plans its query again
 * on every call: that was most of what a policy calling session_active() cost over a
 * plain `sub` policy (its helpers were two such SQL functions). PL/pgSQL plans each
 * expression once per connection and keeps the plan.
 */
create function sessionguard.user_id()
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  return nullif(auth.jwt() ->> 'sub', '');
end;
$$;
comment on function sessionguard.user_id() is
  'The Clerk user id (`sub`) of the request JWT, as text. Use instead of auth.uid(), which casts to uuid.';

create function sessionguard.session_id()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_sid text := auth.jwt() ->> 'sid';
begin
  if v_sid ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return v_sid::uuid;
  end if;
  return null;
end;
$$;
comment on function sessionguard.session_id() is
  'The sessionguard session (`sid`) of the request JWT, or null when the token carries none (e.g. a Clerk token, whose sid is sess_...).';

/*
 * Opt-in PostgREST pre-request hook: refuses every Data API request whose token names a
 * sessionguard session that is no longer live, without editing any policy. Enable with
 *
 *   alter role authenticator set pgrst.db_pre_request = 'sessionguard.check_request';
 *   notify pgrst, 'reload config';
 *
 * Requests without a sessionguard sid (anon key, service role, Supabase Auth or Clerk
 * tokens) pass untouched. PostgREST answers the raised error with status 401.
 * It does not cover Storage or Realtime, which do not run PostgREST's hook.
 */
create function sessionguard.check_request()
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if sessionguard.session_id() is null then
    return;
  end if;
  if not sessionguard.session_active() then
    raise sqlstate 'PGRST' using
      message = json_build_object(
        'code', 'session_revoked',
        'message', 'The session has ended.')::text,
      detail = json_build_object(
        'status', 401,
        'headers', json_build_object(
          'WWW-Authenticate', 'Bearer error="invalid_token", error_description="The session has ended."'))::text;
  end if;
end;
$$;
comment on function sessionguard.check_request() is
  'PostgREST db-pre-request hook: 401 for any request whose sessionguard session is revoked, expired or idle.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function
  sessionguard.user_id(),
  sessionguard.session_id(),
  sessionguard.check_request()
from public;

grant execute on function
  sessionguard.user_id(),
  sessionguard.session_id(),
  sessionguard.check_request()
to anon, authenticated, service_role;
