-- The revocation, listing and purge API.
begin;
set local search_path = extensions, public;
select plan(22);

create function pg_temp.start(p_user text, p_clerk text, p_device text, p_at timestamptz default now())
returns text language sql as $$
  select s.session_id::text from sessionguard.start_session(p_user, p_clerk, p_device, 'agent/1.0',
    '198.51.100.1', 3600, 86400, null, p_at) s;
$$;

select set_config('t.a1', pg_temp.start('user_rev', 'sess_one', 'Laptop', now() - interval '3 minutes'), true);
select set_config('t.a2', pg_temp.start('user_rev', 'sess_one', 'Phone', now() - interval '2 minutes'), true);
select set_config('t.a3', pg_temp.start('user_rev', 'sess_two', 'Tablet', now() - interval '1 minute'), true);
select set_config('t.b1', pg_temp.start('user_rev_other', 'sess_other', 'Desktop'), true);

-- list_sessions
select results_eq(
  $$ select device_name from sessionguard.list_sessions('user_rev') $$,
  $$ values ('Tablet'), ('Phone'), ('Laptop') $$, 'list_sessions: the user''s live sessions, most recent first');
select is((select count(*)::int from sessionguard.list_sessions('user_nobody')), 0, 'list_sessions: none for a stranger');

-- session_status
select is(sessionguard.session_status(current_setting('t.a1')::uuid, 'user_rev'), 'active', 'status: active');
select is(sessionguard.session_status(current_setting('t.a1')::uuid, 'user_rev_other'), 'not_found',
  'status: another user''s session is not found');
select is(sessionguard.session_status(gen_random_uuid(), 'user_rev'), 'not_found', 'status: unknown id');

-- revoke_session
select is(sessionguard.revoke_session('user_rev_other', current_setting('t.a1')::uuid), false,
  'revoke_session: another user cannot revoke it');
select is(sessionguard.session_status(current_setting('t.a1')::uuid, 'user_rev'), 'active',
  'revoke_session: a refused revocation changes nothing');
select is(sessionguard.revoke_session('user_rev', current_setting('t.a1')::uuid), true, 'revoke_session: own session');
select is(sessionguard.session_status(current_setting('t.a1')::uuid, 'user_rev'), 'revoked', 'status: revoked');
select is(sessionguard.revoke_session('user_rev', current_setting('t.a1')::uuid), true,
  'revoke_session: idempotent for the owner');
select results_eq(
  $$ select device_name from sessionguard.list_sessions('user_rev') $$,
  $$ values ('Tablet'), ('Phone') $$, 'list_sessions: revoked sessions are gone');

-- revoke_clerk_session
select is(sessionguard.revoke_clerk_session('sess_one', 'clerk_session_ended'), 1,
  'revoke_clerk_session: ends the live family started from that Clerk session');
select is(sessionguard.revoke_session('user_rev', current_setting('t.a2')::uuid), true, 'already ended is still the owner''s');
select is((select revoked_reason from sessionguard.families where id = current_setting('t.a2')::uuid),
  'clerk_session_ended', 'revoke_clerk_session: reason recorded');

-- revoke_other_sessions / revoke_user_sessions
select set_config('t.a4', pg_temp.start('user_rev', 'sess_three', 'Watch'), true);
select is(sessionguard.revoke_other_sessions('user_rev', current_setting('t.a4')::uuid), 1,
  'revoke_other_sessions: ends every other live session');
select results_eq($$ select device_name from sessionguard.list_sessions('user_rev') $$, $$ values ('Watch') $$,
  'revoke_other_sessions: keeps the current one');
select is(sessionguard.revoke_user_sessions('user_rev', 'user_deleted'), 1, 'revoke_user_sessions: ends the rest');
select is(sessionguard.session_status(current_setting('t.b1')::uuid, 'user_rev_other'), 'active',
  'revoke_user_sessions: another user is untouched');

-- list_events: newest first, with descriptions
select is((select type from sessionguard.list_events('user_rev', 1)), 'user_deleted', 'list_events: newest first');
select is((select count(*)::int from sessionguard.list_events('user_rev')),
  (select count(*)::int from sessionguard.events where user_id = 'user_rev'), 'list_events: all of the user''s events');

-- purge_expired: ends what ran out (with its event), deletes what ended before the retention
select set_config('t.old', (select s.session_id::text from sessionguard.start_session('user_purge', null, 'Old', null,
  null, 60, 120, null, now() - interval '10 days') s), true);
select results_eq($$ select expired, deleted from sessionguard.purge_expired(now() - interval '5 days', interval '1 day') $$,
  $$ values (1, 0) $$, 'purge: a session past its lifetime is ended first');
select results_eq($$ select expired, deleted from sessionguard.purge_expired(now(), interval '1 day') $$,
  $$ values (0, 1) $$, 'purge: ended longer ago than the retention, it is deleted (its event stays)');

select * from finish();
rollback;
