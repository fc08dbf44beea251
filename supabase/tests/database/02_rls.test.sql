-- RLS: a user reads only their own sessions and events; another user and anon none.
begin;
set local search_path = extensions, public;
select plan(8);

select set_config('t.a1', (select session_id::text from sessionguard.start_session(
  'user_rls_a', 'sess_a1', 'Laptop', 'ua', '198.51.100.1', 3600, 86400)), true);
select set_config('t.a2', (select session_id::text from sessionguard.start_session(
  'user_rls_a', 'sess_a2', 'Phone', 'ua', '198.51.100.2', 3600, 86400)), true);
select set_config('t.b1', (select session_id::text from sessionguard.start_session(
  'user_rls_b', 'sess_b1', 'Tablet', 'ua', '198.51.100.3', 3600, 86400)), true);

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"user_rls_a","role":"authenticated"}', true);
select is((select count(*)::int from sessionguard.families), 2, 'owner sees their two sessions');
select is((select count(*)::int from sessionguard.families where user_id <> 'user_rls_a'), 0,
  'owner sees no other user''s session');
select is((select count(*)::int from sessionguard.events), 2, 'owner sees their own events only');

select set_config('request.jwt.claims', '{"sub":"user_rls_b","role":"authenticated"}', true);
select is((select array_agg(device_name) from sessionguard.families), array['Tablet'],
  'another user sees only their own session');

select set_config('request.jwt.claims', '{"sub":"user_rls_c","role":"authenticated"}', true);
select is((select count(*)::int from sessionguard.families), 0, 'a user without sessions sees none');
select is((select count(*)::int from sessionguard.events), 0, 'a user without sessions sees no events');

select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select is((select count(*)::int from sessionguard.families), 0, 'a token without sub sees nothing');

reset role;
set local role anon;
select throws_ok($$ select count(*) from sessionguard.families $$, '42501', null, 'anon cannot read families');
reset role;

select * from finish();
rollback;
