-- sessionguard: a lint for what instant revocation (P7) leaves open, in the spirit of
-- supabase/splinter: numbered lints, each with the object it found and the fix in plain
-- words. Call it from a pgTAP test in CI, or through `npm run check-deployment -- --lint`:
--
--   select is_empty($$ select * from sessionguard.lint() $$, 'no surface left open');
--
-- Sections: API functions, grants.

-- ---------------------------------------------------------------------------------------
-- API functions
-- ---------------------------------------------------------------------------------------

/*
 * A policy "asks for a live session" when its expression calls
 * sessionguard.session_active(): read from pg_depend, where PostgreSQL records every
 * function a policy's expressions call, so a comment or a string that merely mentions
 * the helper does not count. A permissive policy that does not ask is still covered when
 * a restrictive policy on the same table, for the same command (or all) and the same
 * roles, asks: restrictive policies are and-ed with every permissive one.
 *
 * Lints:
 *   SG001 policy_without_session_check   a policy that `authenticated` uses on a table in
 *         an exposed schema does not ask, and the PostgREST pre-request hook is off
 *   SG002 storage_policy_without_session_check   likewise on storage.objects or
 *         storage.buckets (Storage does not run the pre-request hook)
 *   SG003 realtime_policy_without_session_check  likewise on realtime.messages (Realtime
 *         authorizes private channels with these policies, without the hook)
 *   SG004 policy_uses_auth_uid   a policy calls auth.uid(), which casts `sub` to uuid and
 *         fails for every Clerk user id
 *
 * p_exposed_schemas: the Data API's exposed schemas (supabase/config.toml [api] schemas).
 * p_pre_request_hook: whether `sessionguard.check_request` is the Data API's
 * db-pre-request; null reads it from the `authenticator` role's settings, where the
 * README's `alter role authenticator set pgrst.db_pre_request = ...` puts it.
 */
create function sessionguard.lint(
  p_exposed_schemas text[] default array['public', 'graphql_public'],
  p_pre_request_hook boolean default null)
returns table (code text, name text, level text, object text, detail text, fix text)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_helper oid := 'sessionguard.session_active()'::pg_catalog.regprocedure;
  v_auth_uid oid := pg_catalog.to_regprocedure('auth.uid()');
  v_hook boolean := p_pre_request_hook;
begin
  perform sessionguard.require(p_exposed_schemas is not null, 'p_exposed_schemas must not be null');
  if v_hook is null then
    select coalesce(bool_or(pg_catalog.regexp_replace(c.setting, '["[:space:]]', '', 'g')
                            ~ '^pgrst\.db_pre_request=(sessionguard\.)?check_request$'), false)
      into v_hook
    from pg_catalog.pg_db_role_setting s
    join pg_catalog.pg_roles r on r.oid = s.setrole and r.rolname = 'authenticator'
    cross join lateral pg_catalog.unnest(s.setconfig) as c(setting)
    where s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()));
  end if;

  return query
  with policies as (
    select p.oid, p.polname::text as policy, n.nspname::text as schema, c.relname::text as tbl,
           p.polcmd, p.polpermissive,
           -- `public` (oid 0) applies to every role, `authenticated` included.
           (0::oid = any (p.polroles) or exists (
              select 1 from pg_catalog.pg_roles r
              where r.oid = any (p.polroles) and r.rolname = 'authenticated')) as for_authenticated,
           exists (select 1 from pg_catalog.pg_depend d
                   where d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = p.oid
                     and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                     and d.refobjid = v_helper) as asks,
           v_auth_uid is not null and exists (
                   select 1 from pg_catalog.pg_depend d
                   where d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = p.oid
                     and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                     and d.refobjid = v_auth_uid) as uses_auth_uid
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  ),
  open_policies as (
    select p.* from policies p
    where p.for_authenticated and p.polpermissive and not p.asks
      and not exists (
        select 1 from policies r
        where r.schema = p.schema and r.tbl = p.tbl and not r.polpermissive and r.asks
          and r.for_authenticated and r.polcmd in (p.polcmd, '*'))
  )
  select 'SG001', 'policy_without_session_check', 'WARN',
         format('%I.%I policy %I', o.schema, o.tbl, o.policy),
         'A revoked, expired or idle session keeps using this policy until its access token expires: it does not call sessionguard.session_active() and the Data API''s pre-request hook is off.',
         'Add `and (select sessionguard.session_active())` to the policy''s using and with check, or add one restrictive policy on the table that asks it, or turn on the pre-request hook: alter role authenticator set pgrst.db_pre_request = ''sessionguard.check_request''; notify pgrst, ''reload config''.'
  from open_policies o
  where not v_hook and o.schema = any (p_exposed_schemas)
  union all
  select 'SG002', 'storage_policy_without_session_check', 'WARN',
         format('%I.%I policy %I', o.schema, o.tbl, o.policy),
         'A revoked, expired or idle session keeps uploading and downloading through this Storage policy until its access token expires; Storage does not run the pre-request hook.',
         'Add `and (select sessionguard.session_active())` to the policy (examples/surfaces/supabase/migrations/20261207120000_private_files_bucket.sql shows a bucket).'
  from open_policies o
  where o.schema = 'storage' and o.tbl in ('objects', 'buckets')
  union all
  select 'SG003', 'realtime_policy_without_session_check', 'WARN',
         format('%I.%I policy %I', o.schema, o.tbl, o.policy),
         'A revoked, expired or idle session can still join and send on the private channels this policy allows; Realtime does not run the pre-request hook.',
         'Add `and (select sessionguard.session_active())` to the policy (examples/surfaces/supabase/migrations/20261207120100_private_user_channel.sql shows a channel).'
  from open_policies o
  where o.schema = 'realtime' and o.tbl = 'messages'
  union all
  select 'SG004', 'policy_uses_auth_uid', 'ERROR',
         format('%I.%I policy %I', p.schema, p.tbl, p.policy),
         'auth.uid() casts the token''s sub to uuid; a Clerk user id (user_...) is not one, so the policy fails or matches nothing for every Clerk user.',
         'Compare with (select sessionguard.user_id()) instead, and store user ids as text.'
  from policies p
  where p.uses_auth_uid
  order by 1, 4;
end;
$$;
comment on function sessionguard.lint(text[], boolean) is
  'What instant revocation leaves open: numbered lints (SG001-SG004) with the object and the fix. Empty when nothing is open.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

revoke execute on function sessionguard.lint(text[], boolean) from public, anon, authenticated;
grant execute on function sessionguard.lint(text[], boolean) to service_role;
