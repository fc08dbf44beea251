-- P15: organization and step-up policies written with the helpers, on a multi-tenant
-- projects table. A member sees their organization's rows; a role downgrade by webhook
-- takes write access away on the very next statement; a removal takes everything away;
-- deleting needs a recent verification. The helpers share one row lookup per statement
-- and fail closed.
begin;
set local search_path = extensions, public;
select plan(44);

create table public.sg_test_projects (
  id bigint generated always as identity primary key,
  org_id text not null,
  name text not null
);
alter table public.sg_test_projects enable row level security;
-- The policies README and docs/organizations.md give to copy.
create policy sg_test_projects_select on public.sg_test_projects for select to authenticated
  using (org_id = (select sessionguard.org_id()));
create policy sg_test_projects_insert on public.sg_test_projects for insert to authenticated
  with check (org_id = (select sessionguard.org_id())
              and (select sessionguard.has_org_permission('org:projects:write')));
create policy sg_test_projects_update on public.sg_test_projects for update to authenticated
  using (org_id = (select sessionguard.org_id())
         and (select sessionguard.has_org_permission('org:projects:write')));
create policy sg_test_projects_delete on public.sg_test_projects for delete to authenticated
  using (org_id = (select sessionguard.org_id())
         and (select sessionguard.org_role()) = 'org:admin'
         and (select sessionguard.verified_within('10 minutes')));
grant select, insert, update, delete on public.sg_test_projects to authenticated;
insert into public.sg_test_projects (org_id, name)
select 'org_acme', 'acme ' || g from generate_series(1, 6) g
union all select 'org_globex', 'globex ' || g from generate_series(1, 3) g;

-- A session of user_ada, admin of org_acme, verified 5 minutes ago, by the token's claims.
create function pg_temp.start(p_user text, p_clerk text, p_org text, p_role text, p_perms text[],
  p_verified interval, p_device text default 'Laptop') returns text language sql as $$
  select s.session_id::text from sessionguard.start_session_with_claims(
    p_user, p_clerk, p_device, null, null, 3600, 86400, now() - interval '1 second',
    p_org_id => p_org, p_org_role => p_role, p_org_slug => replace(p_org, 'org_', ''),
    p_org_permissions => p_perms, p_verified_at => now() - p_verified) s;
$$;
create function pg_temp.claims(p_user text, p_sid text) returns text language sql as $$
  select json_build_object('sub', p_user, 'role', 'authenticated', 'sid', p_sid)::text;
$$;
-- Runs a statement as the API role with the given token claims; answers a row count.
create function pg_temp.as_user(p_claims text, p_query text) returns bigint
language plpgsql as $$
declare n bigint;
begin
  perform set_config('request.jwt.claims', p_claims, true);
  set local role authenticated;
  execute p_query into n;
  reset role;
  return n;
end;
$$;

select set_config('t.ada', pg_temp.start('user_ada', 'sess_ada', 'org_acme', 'org:admin',
  '{org:projects:write,org:projects:read}', '5 minutes'), true);
select set_config('t.ada_claims', pg_temp.claims('user_ada', current_setting('t.ada')), true);
select set_config('t.bob', pg_temp.start('user_bob', 'sess_bob', 'org_acme', 'org:admin',
  '{org:projects:write}', '30 minutes'), true);
select set_config('t.bob_claims', pg_temp.claims('user_bob', current_setting('t.bob')), true);

-- Recorded at start.
select results_eq(
  $$ select org_id, org_role, org_slug, org_permissions from sessionguard.families where id = current_setting('t.ada')::uuid $$,
  $$ values ('org_acme', 'org:admin', 'acme', '{org:projects:write,org:projects:read}'::text[]) $$,
  'the token''s organization, role, slug and permissions are recorded on the session');

-- Reading.
select is(pg_temp.as_user(current_setting('t.ada_claims'), 'select count(*) from public.sg_test_projects'), 6::bigint,
  'a member sees their organization''s rows');
select is(pg_temp.as_user(current_setting('t.ada_claims'),
  $$ select count(*) from public.sg_test_projects where org_id = 'org_globex' $$), 0::bigint,
  'and none of another organization''s');

-- Writing needs the permission.
select is(pg_temp.as_user(current_setting('t.ada_claims'),
  $$ with u as (update public.sg_test_projects set name = name || '!' returning 1) select count(*) from u $$),
  6::bigint, 'a member with org:projects:write updates the organization''s rows');
select lives_ok($$ select pg_temp.as_user(current_setting('t.ada_claims'),
  $q$ with i as (insert into public.sg_test_projects (org_id, name) values ('org_acme', 'new') returning 1) select count(*) from i $q$) $$,
  'and inserts into it');
select throws_ok($$ select pg_temp.as_user(current_setting('t.ada_claims'),
  $q$ with i as (insert into public.sg_test_projects (org_id, name) values ('org_globex', 'x') returning 1) select count(*) from i $q$) $$,
  '42501', null, 'but not into another organization');

-- Role downgrade by webhook: the very next statement has lost write access.
select results_eq($$ select * from sessionguard.apply_clerk_org_event('msg_org_1', 'organizationMembership.updated',
  'org_acme', 'user_ada', 'org:member', '{org:projects:read}') $$,
  $$ values ('applied', 1) $$, 'organizationMembership.updated changes the user''s live session in that org');
select is(pg_temp.as_user(current_setting('t.ada_claims'),
  $$ with u as (update public.sg_test_projects set name = name || '?' returning 1) select count(*) from u $$),
  0::bigint, 'the very next statement after a downgrade updates nothing');
select throws_ok($$ select pg_temp.as_user(current_setting('t.ada_claims'),
  $q$ with i as (insert into public.sg_test_projects (org_id, name) values ('org_acme', 'late') returning 1) select count(*) from i $q$) $$,
  '42501', null, 'and inserts nothing');
select is(pg_temp.as_user(current_setting('t.ada_claims'), 'select count(*) from public.sg_test_projects'), 7::bigint,
  'a member still reads');
select is(pg_temp.as_user(current_setting('t.bob_claims'),
  $$ with u as (update public.sg_test_projects set name = name returning 1) select count(*) from u $$),
  7::bigint, 'another member''s role is untouched');
select results_eq($$ select * from sessionguard.apply_clerk_org_event('msg_org_1', 'organizationMembership.updated',
  'org_acme', 'user_ada', 'org:admin', '{org:projects:write}') $$,
  $$ values ('duplicate', 0) $$, 'a replayed delivery (same svix-id) acts only once');
select is((select org_role from sessionguard.families where id = current_setting('t.ada')::uuid), 'org:member',
  'and changes nothing');
select ok((select description from sessionguard.events where session_id = current_setting('t.ada')::uuid
  and type = 'org_role_changed') ~ 'role in organization acme changed to org:member',
  'the user reads the role change in plain words');

-- Step-up: deleting needs an admin verified within 10 minutes.
select is(pg_temp.as_user(current_setting('t.bob_claims'),
  $$ with d as (delete from public.sg_test_projects returning 1) select count(*) from d $$), 0::bigint,
  'an admin verified 30 minutes ago deletes nothing');
select results_eq($$ select result, org_id from sessionguard.update_session_claims(current_setting('t.bob')::uuid,
  'user_bob', 'sess_bob', now(), p_org_id => 'org_acme', p_org_role => 'org:admin', p_org_slug => 'acme',
  p_org_permissions => '{org:projects:write}', p_verified_at => now() - interval '1 minute') $$,
  $$ values ('updated', 'org_acme') $$, 'a fresh token after Clerk''s reverification is applied');
select is(pg_temp.as_user(current_setting('t.bob_claims'),
  $$ with d as (delete from public.sg_test_projects where name = 'new' returning 1) select count(*) from d $$), 1::bigint,
  'then the next statement may delete');
select is(pg_temp.as_user(current_setting('t.ada_claims'),
  $$ with d as (delete from public.sg_test_projects returning 1) select count(*) from d $$), 0::bigint,
  'a member verified recently still may not delete');
select ok((select description from sessionguard.events where session_id = current_setting('t.bob')::uuid
  and type = 'session_claims_changed') = 'You confirmed your identity on Laptop.', 'the re-verification is an event in plain words');

-- /claims refusals change nothing.
select results_eq($$ select result from sessionguard.update_session_claims(current_setting('t.bob')::uuid,
  'user_bob', 'sess_bob', now() - interval '30 seconds', p_org_id => 'org_globex', p_org_role => 'org:admin') $$,
  $$ values ('stale') $$, 'a token older than the one applied is stale');
select results_eq($$ select result from sessionguard.update_session_claims(current_setting('t.bob')::uuid,
  'user_bob', 'sess_other', now(), p_org_id => 'org_globex', p_org_role => 'org:admin') $$,
  $$ values ('mismatch') $$, 'a token of another Clerk session is refused');
select results_eq($$ select result from sessionguard.update_session_claims(current_setting('t.bob')::uuid,
  'user_ada', 'sess_bob', now(), p_org_id => 'org_globex', p_org_role => 'org:admin') $$,
  $$ values ('mismatch') $$, 'a token of another user is refused');
select is((select org_id from sessionguard.families where id = current_setting('t.bob')::uuid), 'org_acme',
  'none of them changed the organization');
select throws_ok($$ update sessionguard.families set claims_issued_at = claims_issued_at - interval '1 second'
  where id = current_setting('t.bob')::uuid $$,
  '23514', null, 'the guard refuses to make the applied claims older');
select throws_ok($$ update sessionguard.families set org_role = 'org:admin' || chr(30) || 'org_evil'
  where id = current_setting('t.bob')::uuid $$,
  '23514', null, 'the guard refuses control characters, which could forge the helpers'' cached answer');

-- Removal: the very next statement sees nothing.
select results_eq($$ select * from sessionguard.apply_clerk_org_event('msg_org_2', 'organizationMembership.deleted',
  'org_acme', 'user_ada') $$, $$ values ('applied', 1) $$, 'organizationMembership.deleted clears the organization');
select is(pg_temp.as_user(current_setting('t.ada_claims'), 'select count(*) from public.sg_test_projects'), 0::bigint,
  'after removal the very next statement sees nothing');
select is(sessionguard.session_status(current_setting('t.ada')::uuid, 'user_ada'), 'active',
  'the session itself stays signed in (mode clear)');
select results_eq($$ select result from sessionguard.update_session_claims(current_setting('t.ada')::uuid,
  'user_ada', 'sess_ada', now() - interval '500 milliseconds', p_org_id => 'org_acme', p_org_role => 'org:admin') $$,
  $$ values ('stale') $$, 'a Clerk token issued before the removal cannot bring the organization back');
select is((select org_id from sessionguard.families where id = pg_temp.start('user_ada', 'sess_ada', 'org_acme',
  'org:admin', '{org:projects:write}', '1 minute', 'Phone')::uuid), null,
  'nor start a session in it');

-- organization.deleted, mode revoke: every session in it ends.
select results_eq($$ select * from sessionguard.apply_clerk_org_event('msg_org_3', 'organization.deleted',
  'org_acme', p_ended_mode => 'revoke') $$, $$ values ('applied', 1) $$, 'organization.deleted acts on every user''s session in it');
select is(sessionguard.session_status(current_setting('t.bob')::uuid, 'user_bob'), 'revoked', 'mode revoke ends them');
select is(pg_temp.as_user(current_setting('t.bob_claims'), 'select count(*) from public.sg_test_projects'), 0::bigint,
  'and their next statement sees nothing');
select ok((select description from sessionguard.events where session_id = current_setting('t.bob')::uuid
  and type = 'org_membership_ended') = 'Organization acme was deleted; the session on Laptop was signed out.',
  'the user reads why');

-- Fail closed, and one lookup per statement.
select set_config('t.cy', pg_temp.start('user_cy', 'sess_cy', 'org_globex', 'org:admin', '{org:projects:write}', '1 minute'), true);
select set_config('t.cy_claims', pg_temp.claims('user_cy', current_setting('t.cy')), true);
select set_config('t.cy_as_ada', pg_temp.claims('user_ada', current_setting('t.cy')), true);
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"user_cy","role":"authenticated","sid":"sess_2abc"}', true);
select is(array[sessionguard.org_id(), sessionguard.org_role()], array[null, null]::text[], 'a token without a sessionguard sid has no organization');
select is(sessionguard.has_org_permission('org:projects:write') or sessionguard.verified_within('1 year'), false,
  'no permission, never verified');
select set_config('request.jwt.claims', current_setting('t.cy_as_ada'), true);
select is(sessionguard.org_id(), null, 'a sid combined with another user''s sub has no organization');
select set_config('request.jwt.claims', current_setting('t.cy_claims'), true);
select is(sessionguard.has_org_permission(null), false, 'a null permission is never held');
select is(sessionguard.verified_within(null), false, 'a null interval is never satisfied');
reset role;
select is(pg_temp.as_user(pg_temp.claims('user_cy', current_setting('t.cy')), 'select count(*) from public.sg_test_projects'),
  3::bigint, 'a live member of another organization sees its rows');
-- Reads of the sessions table in this transaction: its sequential scans and the scans of
-- its indexes (the planner may pick either for a table this small).
create function pg_temp.session_lookups() returns bigint language sql as $$
  select pg_stat_get_xact_numscans('sessionguard.families'::regclass)
       + (select sum(pg_stat_get_xact_numscans(i.indexrelid))::bigint from pg_index i
          where i.indrelid = 'sessionguard.families'::regclass);
$$;
select set_config('t.scans', pg_temp.session_lookups()::text, true);
select is(pg_temp.as_user(pg_temp.claims('user_cy', current_setting('t.cy')),
  $$ with d as (delete from public.sg_test_projects where name = 'none' returning 1) select count(*) from d $$), 0::bigint,
  'a statement whose policy calls three helpers');
select is(pg_temp.session_lookups() - current_setting('t.scans')::bigint, 1::bigint,
  'reads the session row once');
-- Within one statement (a function, one statement_timestamp and one snapshot), a change
-- made in between is still seen by the next query: the shared lookup is not reused.
create function pg_temp.removed_mid_statement() returns text language plpgsql as $$
declare before bigint; after bigint;
begin
  before := pg_temp.as_user(current_setting('t.cy_claims'), 'select count(*) from public.sg_test_projects');
  perform sessionguard.apply_clerk_org_event('msg_org_4', 'organizationMembership.deleted', 'org_globex', 'user_cy');
  after := pg_temp.as_user(current_setting('t.cy_claims'), 'select count(*) from public.sg_test_projects');
  return before || ' then ' || after;
end;
$$;
select is(pg_temp.removed_mid_statement(), '3 then 0', 'a removal inside one statement reaches the next query in it');
select sessionguard.revoke_session('user_cy', current_setting('t.cy')::uuid);
select is(pg_temp.as_user(pg_temp.claims('user_cy', current_setting('t.cy')), 'select count(*) from public.sg_test_projects'),
  0::bigint, 'a revoked session''s organization is gone on the next statement');

select * from finish();
rollback;
