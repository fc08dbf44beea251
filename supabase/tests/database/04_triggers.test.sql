-- Triggers: the generation moves forward by exactly one; identity never changes; a
-- revoked family cannot be un-revoked or rotated; every start and revocation writes a
-- security event with a sentence a user understands.
begin;
set local search_path = extensions, public;
select plan(22);

select set_config('t.f', (select session_id::text from sessionguard.start_session(
  'user_trig', 'sess_trig', 'Work laptop', 'agent/1.0', '198.51.100.9', 3600, 86400)), true);

select results_eq(
  $$ select type, description from sessionguard.events where session_id = current_setting('t.f')::uuid $$,
  $$ values ('session_started', 'You signed in on Work laptop.') $$,
  'starting a family writes a session_started event');

select throws_ok(
  $$ update sessionguard.families set generation = generation + 2 where id = current_setting('t.f')::uuid $$,
  '23514', null, 'the generation cannot skip forward');
select throws_ok(
  $$ update sessionguard.families set generation = generation - 1 where id = current_setting('t.f')::uuid $$,
  '23514', null, 'the generation cannot move back');
select lives_ok(
  $$ update sessionguard.families set generation = generation + 1 where id = current_setting('t.f')::uuid $$,
  'the generation moves forward by one');
select throws_ok(
  $$ update sessionguard.families set user_id = 'someone_else' where id = current_setting('t.f')::uuid $$,
  '23514', null, 'a family cannot change owner');
select throws_ok(
  $$ update sessionguard.families set expires_at = expires_at + interval '1 year' where id = current_setting('t.f')::uuid $$,
  '23514', null, 'the absolute expiry cannot be extended');

select sessionguard.revoke_session('user_trig', current_setting('t.f')::uuid, 'signed_out');
select results_eq(
  $$ select type, description from sessionguard.events
     where session_id = current_setting('t.f')::uuid and type <> 'session_started' $$,
  $$ values ('signed_out', 'You signed out of Work laptop.') $$,
  'revocation writes one event with a user-readable description');

select throws_ok(
  $$ update sessionguard.families set revoked_at = null, revoked_reason = null where id = current_setting('t.f')::uuid $$,
  '55000', null, 'a revoked family cannot be un-revoked');
select throws_ok(
  $$ update sessionguard.families set generation = generation + 1 where id = current_setting('t.f')::uuid $$,
  '55000', null, 'a revoked family cannot rotate');
select throws_ok(
  $$ update sessionguard.families set revoked_reason = 'session_expired' where id = current_setting('t.f')::uuid $$,
  '55000', null, 'the reason of a revocation cannot be rewritten');
select set_config('t.g', (select session_id::text from sessionguard.start_session(
  'user_trig', null, null, null, null, 60, 60)), true);
select throws_ok(
  $$ update sessionguard.families set revoked_at = now(), revoked_reason = null
     where id = current_setting('t.g')::uuid $$,
  '23514', null, 'a revocation always has a reason');
select is(
  (select count(*)::int from sessionguard.events where user_id = 'user_trig' and type = 'signed_out'), 1,
  'revoking an already revoked family writes no second event');

-- Every rule an update may break is refused, whichever column breaks it (a guard that
-- re-checks only some columns, or is skipped by a WHEN test, must still catch each one).
select set_config('t.h', (select session_id::text from sessionguard.start_session(
  'user_trig', 'sess_trig_h', 'Phone', 'agent/1.0', '198.51.100.9', 3600, 86400)), true);
select throws_ok(
  $$ update sessionguard.families set id = gen_random_uuid() where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a family keeps its id');
select throws_ok(
  $$ update sessionguard.families set clerk_session_id = 'sess_other' where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a family keeps its Clerk session');
select throws_ok(
  $$ update sessionguard.families set created_at = created_at - interval '1 day' where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a family keeps its start time');
select throws_ok(
  $$ update sessionguard.families set dpop_jkt = repeat('A', 43) where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a family cannot be bound to a key after its start');
select throws_ok(
  $$ update sessionguard.families set actor_id = 'user_impersonator' where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a family keeps its impersonator (or none)');
select throws_ok(
  $$ update sessionguard.families set device_name = repeat('d', 201) where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a device name stays within 200 characters');
select throws_ok(
  $$ update sessionguard.families set user_agent = repeat('u', 1025) where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a user agent stays within 1024 characters');
select throws_ok(
  $$ update sessionguard.families set idle_expires_at = expires_at + interval '1 second'
     where id = current_setting('t.h')::uuid $$,
  '23514', null, 'the idle deadline never passes the absolute expiry');
select throws_ok(
  $$ update sessionguard.families set revoked_at = now(), revoked_reason = 'bored'
     where id = current_setting('t.h')::uuid $$,
  '23514', null, 'a revocation reason is one of the known ones');
select lives_ok(
  $$ update sessionguard.families set generation = generation + 1, device_name = 'Phone (renamed)',
       user_agent = 'agent/2.0', ip = '203.0.113.5' where id = current_setting('t.h')::uuid $$,
  'a rotation that also updates the device, user agent and ip passes');

select * from finish();
rollback;
