-- Revocation reaches open Realtime channels: every revocation (sign-out, theft, Clerk,
-- user deleted) is broadcast privately on the user's topic sessionguard:<user id>
-- (realtime.send, sessionguard.record_event) with the session's id; only the user's live
-- sessions may join that topic and nobody may send on it (the examples/surfaces policy).
begin;
\ir ../../../examples/notes/supabase/tests/sessionguard_test_helpers.psql
\ir ../stand-ins/realtime.psql
\ir ../../../examples/surfaces/supabase/migrations/20261207120200_session_events_channel.sql
select plan(11);

select 'user_rb_' || md5(random()::text) as uid, 'user_rb_other_' || md5(random()::text) as other \gset
select sessionguard_test.create_session(:'uid', 'Laptop') as laptop \gset
select sessionguard_test.create_session(:'uid', 'Phone') as phone \gset
select sessionguard_test.create_session(:'other') as stranger \gset
select sessionguard_test.access_token_claims(:'laptop') as c_laptop,
       sessionguard_test.access_token_claims(:'phone') as c_phone,
       sessionguard_test.access_token_claims(:'stranger') as c_stranger \gset
select 'sessionguard:' || :'uid' as topic \gset

-- Who may join the topic and send on it, as Realtime checks it.
select is((select row(a.broadcast_read, a.broadcast_write)::text from realtime_test.authorize(:'c_laptop', :'topic') a),
  '(t,f)', 'a live session of the user may join its user''s topic, and may not send on it');
select is((select row(a.broadcast_read, a.broadcast_write)::text from realtime_test.authorize(:'c_stranger', :'topic') a),
  '(f,f)', 'another user''s session may not join it');
select is((select row(a.broadcast_read, a.broadcast_write)::text from realtime_test.authorize('{"role":"anon"}', :'topic') a),
  '(f,f)', 'the anon key may not join it');

-- A revocation is announced there, privately, naming the session.
select sessionguard_test.revoke_session(:'laptop');
select results_eq(
  format($$select event || ' ' || (payload ->> 'session_id') || ' ' || private::text || ' ' || extension
           from realtime.messages where topic = %L and event <> 'session_started'$$, :'topic'),
  array['session_revoked ' || :'laptop' || ' true broadcast'],
  'revoking a session broadcasts session_revoked with its id on the user''s topic');
select is((select count(*)::int from realtime.messages where topic = 'sessionguard:' || :'other' and event <> 'session_started'), 0,
  'another user hears nothing');
select is((select row(a.broadcast_read)::text from realtime_test.authorize(:'c_laptop', :'topic') a),
  '(f)', 'the revoked session cannot join again to go on listening');
select is((select row(a.broadcast_read)::text from realtime_test.authorize(:'c_phone', :'topic') a),
  '(t)', 'the user''s other live session still can');

-- Theft and the end of the Clerk user are announced too.
create function pg_temp.refresh(p_session uuid, p_generation bigint) returns text language sql as $$
  select r.result from sessionguard.refresh_session(p_session, p_generation,
    jsonb_build_object('idle_timeout', 3600, 'reuse_grace', 0, 'theft_scope', 'family',
                       'dpop_lifetime', 300, 'dpop_mismatch', 'refuse', 'rate_limit', null, 'ip_rate_limit', null),
    '127.0.0.1', 'pgTAP') r;
$$;
select set_config('t.r', pg_temp.refresh(:'phone', 0), true);
select set_config('t.r', pg_temp.refresh(:'phone', 0), true);
select is(current_setting('t.r'), 'reused', 'presenting a spent generation again is reuse');
select ok(exists (select 1 from realtime.messages where topic = :'topic' and event = 'refresh_token_reused'
                  and payload ->> 'session_id' = :'phone'), 'theft is broadcast with the session''s id');
select sessionguard_test.create_session(:'uid', 'Tablet') as tablet \gset
select is(sessionguard.revoke_user_sessions(:'uid', 'user_deleted'), 1, 'deleting the user revokes its last session');
select ok(exists (select 1 from realtime.messages where topic = :'topic' and payload ->> 'session_id' = :'tablet'
                  and event <> 'session_started'), 'and announces it');

select * from finish();
rollback;
