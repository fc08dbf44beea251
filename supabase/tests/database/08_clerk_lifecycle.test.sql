-- Clerk lifecycle: webhook deliveries revoke families once, ended Clerk sessions and
-- deleted users cannot start new families, and every revocation is announced through
-- Realtime where it exists.
begin;
set local search_path = extensions, public;
select plan(20);

-- Where Supabase Realtime is not installed (plain Postgres), stand in for its send():
-- a messages table with the columns the assertions read. On Supabase the real one runs.
do $$
begin
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    create schema realtime;
    create table realtime.messages (topic text, event text, payload jsonb, private boolean);
    create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
    returns void language sql as
      'insert into realtime.messages (topic, event, payload, private) values (topic, event, payload, private)';
  end if;
end;
$$;

create function pg_temp.start(p_user text, p_clerk text) returns text language sql as $$
  select s.session_id::text from sessionguard.start_session(p_user, p_clerk, 'Laptop', null, null, 3600, 86400) s;
$$;

select set_config('t.a', pg_temp.start('user_lc', 'sess_lc_1'), true);
select set_config('t.b', pg_temp.start('user_lc', 'sess_lc_1'), true);
select set_config('t.c', pg_temp.start('user_lc', 'sess_lc_2'), true);

select results_eq($$ select * from sessionguard.apply_clerk_event('msg_1', 'session.ended', 'sess_lc_1', 'user_lc') $$,
  $$ values ('applied', 2) $$, 'session.ended revokes every family started from that Clerk session');
select is((select revoked_reason from sessionguard.families where id = current_setting('t.a')::uuid),
  'clerk_session_ended', 'the reason is recorded');
select is(sessionguard.session_status(current_setting('t.c')::uuid, 'user_lc'), 'active',
  'a family of another Clerk session stays live');
select results_eq($$ select * from sessionguard.apply_clerk_event('msg_1', 'session.ended', 'sess_lc_1', 'user_lc') $$,
  $$ values ('duplicate', 0) $$, 'a replayed delivery (same svix-id) acts only once');
select is((select count(*)::int from sessionguard.events where user_id = 'user_lc' and type = 'clerk_session_ended'), 2,
  'one event per revoked family, none for the replay');
select throws_ok($$ select pg_temp.start('user_lc', 'sess_lc_1') $$, '28000', null,
  'an ended Clerk session cannot start a new family');
select lives_ok($$ select pg_temp.start('user_lc', 'sess_lc_3') $$, 'a new Clerk session of the user can start');

select results_eq($$ select * from sessionguard.apply_clerk_event('msg_2', 'session.revoked', 'sess_lc_2', 'user_lc') $$,
  $$ values ('applied', 1) $$, 'session.revoked revokes too');
select results_eq($$ select * from sessionguard.apply_clerk_event('msg_3', 'session.removed', 'sess_lc_none', null) $$,
  $$ values ('applied', 0) $$, 'session.removed of an unknown session applies and revokes nothing');
select results_eq($$ select * from sessionguard.apply_clerk_event('msg_4', 'user.updated', null, 'user_lc') $$,
  $$ values ('ignored', 0) $$, 'other event types are ignored');

select results_eq($$ select * from sessionguard.apply_clerk_event('msg_5', 'user.deleted', null, 'user_lc') $$,
  $$ values ('applied', 1) $$, 'user.deleted revokes every live family of the user');
select is((select count(*)::int from sessionguard.families where user_id = 'user_lc' and revoked_at is null), 0,
  'no family of the deleted user is live');
select throws_ok($$ select pg_temp.start('user_lc', 'sess_lc_9') $$, '28000', null, 'a deleted user cannot start');

select throws_ok($$ select sessionguard.apply_clerk_event('msg_6', 'session.ended', null, null) $$, '22023', null,
  'a session event without a session id is refused');
select is((select count(*)::int from sessionguard.webhook_deliveries where id = 'msg_6'), 0,
  'a refused delivery is not recorded as applied');

select ok((select count(*) from realtime.messages where topic = 'sessionguard:user_lc' and event = 'user_deleted') >= 1,
  'revocations are broadcast on the user''s private Realtime topic');

select is((select sessionguard.purge_clerk_records(now() + interval '30 days')), 9,
  'old endings (4) and deliveries (5) are purged');

-- A theft response that could not reach Clerk is recorded, not lost.
select set_config('t.z', pg_temp.start('user_lc_z', 'sess_lc_z'), true);
select is(sessionguard.record_clerk_revoke_failed(current_setting('t.z')::uuid, '203.0.113.9', 'agent'), true,
  'a failed Clerk revocation is recorded');
select results_eq(
  $$ select type, host(ip) from sessionguard.events where session_id = current_setting('t.z')::uuid and type <> 'session_started' $$,
  $$ values ('clerk_revoke_failed', '203.0.113.9') $$, 'as a security event with the request context');
select is(sessionguard.record_clerk_revoke_failed(gen_random_uuid()), false, 'an unknown family records nothing');

select * from finish();
rollback;
