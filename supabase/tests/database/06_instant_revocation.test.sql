-- P7: an app table whose policy calls the helper refuses a revoked, expired or idle
-- session on the very next query, and the helper runs once per statement. Also the
-- opt-in PostgREST pre-request hook.
begin;
set local search_path = extensions, public;
select plan(21);

create table public.sg_test_notes (
  id bigint generated always as identity primary key,
  owner_id text not null,
  body text not null
);
alter table public.sg_test_notes enable row level security;
create policy sg_test_notes_own on public.sg_test_notes for select to authenticated
  using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
grant select on public.sg_test_notes to authenticated;
insert into public.sg_test_notes (owner_id, body)
select 'user_p7', 'note ' || g from generate_series(1, 50) g
union all select 'user_p7_other', 'other ' || g from generate_series(1, 5) g;

select set_config('t.live', (select session_id::text from sessionguard.start_session(
  'user_p7', 'sess_p7', 'Laptop', null, null, 3600, 86400)), true);
select set_config('t.idle', (select session_id::text from sessionguard.start_session(
  'user_p7', 'sess_p7b', 'Old phone', null, null, 60, 86400, null, now() - interval '2 minutes')), true);
select set_config('t.claims_live', json_build_object('sub', 'user_p7', 'role', 'authenticated',
  'sid', current_setting('t.live'))::text, true);

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
create function pg_temp.plan_of(p_claims text, p_query text) returns text
language plpgsql as $$
declare line text; result text := '';
begin
  perform set_config('request.jwt.claims', p_claims, true);
  set local role authenticated;
  for line in execute 'explain (costs off) ' || p_query loop
    result := result || line || E'\n';
  end loop;
  reset role;
  return result;
end;
$$;

select is(pg_temp.as_user(current_setting('t.claims_live'), 'select count(*) from public.sg_test_notes'), 50::bigint,
  'a live session sees its owner''s rows');

select sessionguard.revoke_session('user_p7', current_setting('t.live')::uuid);
select is(pg_temp.as_user(current_setting('t.claims_live'), 'select count(*) from public.sg_test_notes'), 0::bigint,
  'after revocation the very next query sees nothing');

select is(pg_temp.as_user(json_build_object('sub', 'user_p7', 'role', 'authenticated',
  'sid', current_setting('t.idle'))::text, 'select count(*) from public.sg_test_notes'), 0::bigint,
  'an idle-timed-out session sees nothing');

select set_config('t.live2', (select session_id::text from sessionguard.start_session(
  'user_p7', 'sess_p7c', 'Desktop', null, null, 3600, 86400)), true);
select set_config('t.claims_live2', json_build_object('sub', 'user_p7', 'role', 'authenticated',
  'sid', current_setting('t.live2'))::text, true);
select is(pg_temp.as_user(current_setting('t.claims_live2'), 'select count(*) from public.sg_test_notes'), 50::bigint,
  'another live session of the same user still sees its rows');
select is(pg_temp.as_user(json_build_object('sub', 'user_p7_other', 'role', 'authenticated',
  'sid', current_setting('t.live2'))::text, 'select count(*) from public.sg_test_notes'), 0::bigint,
  'a sid combined with another sub sees nothing');
select is(pg_temp.as_user('{"sub":"user_p7","role":"authenticated","sid":"sess_2abc"}',
  'select count(*) from public.sg_test_notes'), 0::bigint, 'a Clerk sid is not a sessionguard session');
select is(pg_temp.as_user('{"sub":"user_p7","role":"authenticated","sid":"not a uuid''; drop table x;--"}',
  'select count(*) from public.sg_test_notes'), 0::bigint, 'a hostile sid is refused, not an error');
select is(pg_temp.as_user('{"sub":"user_p7","role":"authenticated"}',
  'select count(*) from public.sg_test_notes'), 0::bigint, 'a token without sid sees nothing');
select is(pg_temp.as_user(json_build_object('sub', 'user_p7', 'role', 'authenticated',
  'sid', gen_random_uuid())::text, 'select count(*) from public.sg_test_notes'), 0::bigint,
  'an unknown sid sees nothing');

-- Once per statement: both helpers run as init plans, not per row.
select matches(pg_temp.plan_of(current_setting('t.claims_live2'), 'select * from public.sg_test_notes'),
  '(InitPlan.*){2}', 'the helpers are init plans, evaluated once per statement');
select unalike(pg_temp.plan_of(current_setting('t.claims_live2'), 'select * from public.sg_test_notes'),
  '%SubPlan%', 'no helper is evaluated per row');

-- The pre-request hook.
set local role authenticated;
select set_config('request.jwt.claims', current_setting('t.claims_live2'), true);
select lives_ok($$ select sessionguard.check_request() $$, 'pre-request: a live session passes');
select set_config('request.jwt.claims', current_setting('t.claims_live'), true);
select throws_ok($$ select sessionguard.check_request() $$, 'PGRST', null, 'pre-request: a revoked session is refused');
select set_config('request.jwt.claims', '{"sub":"user_p7","role":"authenticated","sid":"sess_2abc"}', true);
select lives_ok($$ select sessionguard.check_request() $$, 'pre-request: tokens of other issuers pass untouched');
reset role;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select lives_ok($$ select sessionguard.check_request() $$, 'pre-request: anon passes');
select set_config('request.jwt.claims', '', true);
select lives_ok($$ select sessionguard.check_request() $$, 'pre-request: no claims at all pass');
reset role;

-- The helper itself, called as a policy calls it: the sid must name a live session of
-- exactly the token's sub.
set local role authenticated;
select set_config('request.jwt.claims', current_setting('t.claims_live2'), true);
select is(sessionguard.session_active(), true, 'session_active: a live session of the sub');
select set_config('request.jwt.claims', json_build_object('sub', 'user_p7', 'role', 'authenticated',
  'sid', upper(current_setting('t.live2')))::text, true);
select is(sessionguard.session_active(), true, 'session_active: the sid in upper case is the same session');
select set_config('request.jwt.claims', json_build_object('sub', 'user_p7_other', 'role', 'authenticated',
  'sid', current_setting('t.live2'))::text, true);
select is(sessionguard.session_active(), false, 'session_active: the session of another sub');
select set_config('request.jwt.claims', json_build_object('sub', '', 'role', 'authenticated',
  'sid', current_setting('t.live2'))::text, true);
select is(sessionguard.session_active(), false, 'session_active: an empty sub');
select set_config('request.jwt.claims', json_build_object('role', 'authenticated',
  'sid', current_setting('t.live2'))::text, true);
select is(sessionguard.session_active(), false, 'session_active: no sub');
reset role;

select * from finish();
rollback;
