-- P7 on Realtime: the example's policies on realtime.messages (examples/surfaces) let a
-- live session join, read and send on its own private channel, and refuse a revoked,
-- expired or idle session on the very next check, though its access token is still
-- valid. Checks run exactly as Realtime runs them (supabase/tests/stand-ins/realtime.psql
-- cites how): at join, on the first message sent, and again on every token refresh.
begin;
\ir ../../../examples/notes/supabase/tests/sessionguard_test_helpers.psql
\ir ../stand-ins/realtime.psql
\ir ../../../examples/surfaces/supabase/migrations/20261207120100_private_user_channel.sql
select plan(14);

select 'user_rt_alice_' || md5(random()::text) as alice_id, 'user_rt_bob_' || md5(random()::text) as bob_id \gset
select sessionguard_test.create_session(:'alice_id', 'Laptop') as alice \gset
select sessionguard_test.create_session(:'alice_id', 'Phone') as alice_phone \gset
select sessionguard_test.create_session(:'alice_id', 'Tablet') as alice_tablet \gset
select sessionguard_test.create_session(:'alice_id', 'Old laptop') as alice_old \gset
select sessionguard_test.create_session(:'bob_id') as bob \gset
select sessionguard_test.access_token_claims(:'alice') as c_alice,
       sessionguard_test.access_token_claims(:'alice_phone') as c_phone,
       sessionguard_test.access_token_claims(:'alice_tablet') as c_tablet,
       sessionguard_test.access_token_claims(:'alice_old') as c_old,
       sessionguard_test.access_token_claims(:'bob') as c_bob \gset
select 'user:' || :'alice_id' as alice_topic, 'user:' || :'bob_id' as bob_topic \gset

select is((select count(*)::int from pg_policies
           where schemaname = 'realtime' and tablename = 'messages' and policyname like 'user channel:%'
             and coalesce(qual, '') || coalesce(with_check, '') like '%sessionguard.session_active()%'),
  2, 'both channel policies (read, write) ask for a live session');

-- Live: join (read) and send (write) on the user's own channel.
select is((select row(a.*)::text from realtime_test.authorize(:'c_alice', :'alice_topic') a),
  '(t,t,t,t)', 'a live session may join, read, broadcast and track presence on its own channel');
select is((select row(a.*)::text from realtime_test.authorize(:'c_alice', :'bob_topic') a),
  '(f,f,f,f)', 'a live session may not join another user''s channel');
select is((select row(a.*)::text from realtime_test.authorize(:'c_alice', 'user:' || :'alice_id' || 'x') a),
  '(f,f,f,f)', 'a topic that only starts with the user''s is not the user''s');
select is((select count(*)::int from realtime.messages where topic in (:'alice_topic', :'bob_topic')), 0,
  'the checks leave no message behind (rolled back, as Realtime rolls them back)');

-- Revoked: the join after it, and the token refresh of an open channel, are refused.
select sessionguard_test.revoke_session(:'alice');
select is((select row(a.*)::text from realtime_test.authorize(:'c_alice', :'alice_topic') a),
  '(f,f,f,f)', 'revoked: the very next join is refused and nothing may be sent');
select is((select (a.broadcast_read or a.presence_read) from realtime_test.authorize(:'c_alice', :'alice_topic') a),
  false, 'revoked: an access_token refresh re-reads the policies, read is lost, Realtime closes the channel');
select is((select row(a.*)::text from realtime_test.authorize(:'c_phone', :'alice_topic') a),
  '(t,t,t,t)', 'another live session of the same user keeps its channel');

select sessionguard_test.expire_session(:'alice_tablet');
select is((select row(a.*)::text from realtime_test.authorize(:'c_tablet', :'alice_topic') a),
  '(f,f,f,f)', 'expired: the very next check is refused');
select sessionguard_test.idle_session(:'alice_old');
select is((select row(a.*)::text from realtime_test.authorize(:'c_old', :'alice_topic') a),
  '(f,f,f,f)', 'idle-timed-out: the very next check is refused');

-- Forged or foreign identities.
select is((select row(a.*)::text from realtime_test.authorize(
    jsonb_set(:'c_phone'::jsonb, '{sub}', to_jsonb(:'bob_id'::text)), :'bob_topic') a),
  '(f,f,f,f)', 'a live sid under another user''s sub gets nothing');
select is((select row(a.*)::text from realtime_test.authorize(
    :'c_phone'::jsonb - 'sid', :'alice_topic') a),
  '(f,f,f,f)', 'a token without sid (e.g. a Clerk token) gets nothing');
select is((select row(a.*)::text from realtime_test.authorize('{"role":"anon"}', :'alice_topic') a),
  '(f,f,f,f)', 'the anon key gets nothing');
select is((select row(a.*)::text from realtime_test.authorize(:'c_bob', :'bob_topic') a),
  '(t,t,t,t)', 'Bob''s live session has Bob''s channel');

select * from finish();
rollback;
