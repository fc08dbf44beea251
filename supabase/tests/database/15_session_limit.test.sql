-- SESSION_MAX_PER_USER at /start: past the limit either the least recently used session
-- is signed out, or the new one is refused; either way the user reads why.
begin;
set local search_path = extensions, public;
select plan(10);

create function pg_temp.start(p_user text, p_device text, p_max integer, p_mode text, p_ago interval)
returns table (result text, session_id uuid) language sql as $$
  select s.result, s.session_id from sessionguard.start_session_with_claims(
    p_user, 'sess_' || p_device, p_device, null, null, 3600, 86400, now() - p_ago - interval '1 second',
    p_now => now() - p_ago, p_max_sessions => p_max, p_limit_mode => p_mode) s;
$$;

select set_config('t.a', (select session_id::text from pg_temp.start('user_lim', 'Laptop', 2, 'revoke-oldest', '30 minutes')), true);
select set_config('t.b', (select session_id::text from pg_temp.start('user_lim', 'Phone', 2, 'revoke-oldest', '20 minutes')), true);
select is((select count(*)::int from sessionguard.families where user_id = 'user_lim' and revoked_at is null), 2,
  'under the limit every start starts');

select results_eq($$ select result from pg_temp.start('user_lim', 'Tablet', 2, 'revoke-oldest', '0 minutes') $$,
  $$ values ('started') $$, 'revoke-oldest: past the limit the new session starts');
select is(sessionguard.session_status(current_setting('t.a')::uuid, 'user_lim'), 'revoked',
  'and the least recently used one is signed out');
select is(sessionguard.session_status(current_setting('t.b')::uuid, 'user_lim'), 'active', 'the others stay');
select is((select description from sessionguard.events where session_id = current_setting('t.a')::uuid
  and type = 'session_limit_reached'),
  'The session on Laptop was signed out because you signed in on Tablet and your account allows at most 2 active sessions; it was the one used least recently.',
  'the user reads why in plain words');

select results_eq($$ select result, session_id from pg_temp.start('user_lim', 'Desktop', 2, 'refuse', '0 minutes') $$,
  $$ values ('limit_reached', null::uuid) $$, 'refuse: past the limit nothing starts');
select is((select count(*)::int from sessionguard.families where user_id = 'user_lim' and revoked_at is null), 2,
  'and nothing is signed out');
select is((select description from sessionguard.events where user_id = 'user_lim' and type = 'session_limit_reached'
  and session_id is null),
  'A sign-in on Desktop was refused: you already have 2 active sessions, the most your account allows. Sign out of a session you no longer use, then try again.',
  'the refusal is an event in plain words');

select results_eq($$ select result from pg_temp.start('user_lim_2', 'Laptop', null, 'refuse', '0 minutes') $$,
  $$ values ('started') $$, 'no limit (the default) starts always');
select throws_ok($$ select * from pg_temp.start('user_lim', 'Desktop', 0, 'refuse', '0 minutes') $$,
  '22023', null, 'a limit below one is a bad argument');

select * from finish();
rollback;
