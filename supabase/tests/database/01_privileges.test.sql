-- Privileges (P11): API roles cannot run internal or API functions nor read or write
-- the tables beyond their own rows; every security definer function has an empty
-- search_path; the edge function's role can run the API.
begin;
set local search_path = extensions, public;
select plan(18);

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard'
          and p.proname not in ('user_id', 'session_id', 'session_active', 'check_request',
                                 'org_id', 'org_role', 'has_org_permission', 'verified_within')
          and has_function_privilege('authenticated', p.oid, 'execute')),
  '{}'::text[], 'authenticated can execute no internal or API function');

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard'
          and p.proname not in ('user_id', 'session_id', 'session_active', 'check_request',
                                 'org_id', 'org_role', 'has_org_permission', 'verified_within')
          and has_function_privilege('anon', p.oid, 'execute')),
  '{}'::text[], 'anon can execute no internal or API function');

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard'
          and (p.proacl is null
               or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE'))),
  '{}'::text[], 'no function in sessionguard is executable by PUBLIC');

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard' and p.prosecdef
          and not coalesce(p.proconfig @> array['search_path=""'], false)),
  '{}'::text[], 'every security definer function has search_path = ''''');

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard' and p.proconfig is null),
  '{}'::text[], 'every function pins its search_path');

select ok(has_function_privilege('service_role',
  'sessionguard.refresh_session(uuid, bigint, jsonb, inet, text, text, text, timestamptz)', 'execute'),
  'service_role can refresh');
select ok(not has_function_privilege('service_role', 'sessionguard.revoke_clerk_session(text, text, timestamptz)', 'execute'),
  'no route revokes a Clerk session through service_role: it cannot');
select ok(has_function_privilege('service_role',
  'sessionguard.start_session(text, text, text, text, inet, integer, integer, text, timestamptz, text)', 'execute'),
  'service_role can start sessions');
select ok(has_function_privilege('authenticated', 'sessionguard.session_active()', 'execute'),
  'authenticated can call the RLS helper');
select ok(has_function_privilege('anon', 'sessionguard.check_request()', 'execute'),
  'anon can pass the pre-request hook');

select ok(not has_table_privilege('anon', 'sessionguard.families', 'select'), 'anon cannot read families');
select ok(not has_table_privilege('anon', 'sessionguard.events', 'select'), 'anon cannot read events');
select ok(not has_column_privilege('authenticated', 'sessionguard.families', 'generation', 'select'),
  'authenticated cannot read the generation');
select ok(not has_column_privilege('authenticated', 'sessionguard.families', 'dpop_jkt', 'select'),
  'authenticated cannot read the key binding');
select is(
  array(select r || ':' || p from unnest(array['anon', 'authenticated', 'service_role']) r,
        unnest(array['insert', 'update', 'delete', 'truncate']) p,
        unnest(array['sessionguard.families', 'sessionguard.events']) t
        where has_table_privilege(r, t, p)),
  '{}'::text[], 'no API role may write the tables directly');
select ok(not has_table_privilege('service_role', 'sessionguard.families', 'select'),
  'service_role reads families only through the API');

-- Switching into the role shows the refusal as the Data API would meet it.
set local role authenticated;
select throws_ok($$ select generation from sessionguard.families $$, '42501', null,
  'authenticated reading the generation is refused');
select throws_ok($$ select sessionguard.refresh_session(gen_random_uuid(), 0, '{}') $$,
  '42501', null, 'authenticated calling refresh_session is refused');
reset role;

select * from finish();
rollback;
