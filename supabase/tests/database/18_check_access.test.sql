-- requireSession's one round trip: sessionguard.check_access answers the session's status
-- for an app's own function, refuses a replayed DPoP proof of a live session, records
-- nothing for a dead one, and only the functions' role may call it.
begin;
\ir ../../../examples/notes/supabase/tests/sessionguard_test_helpers.psql
select plan(13);

select 'user_ca_' || md5(random()::text) as uid \gset
select sessionguard_test.create_session(:'uid') as live \gset
select sessionguard_test.create_session(:'uid') as revoked \gset
select sessionguard_test.create_session(:'uid') as expired \gset
select sessionguard_test.create_session(:'uid') as idle \gset
select sessionguard_test.revoke_session(:'revoked');
select sessionguard_test.expire_session(:'expired');
select sessionguard_test.idle_session(:'idle');
select repeat('k', 43) as jkt \gset

select is(sessionguard.check_access(:'live', :'uid'), 'active', 'a live session is active');
select is(sessionguard.check_access(:'revoked', :'uid'), 'revoked', 'a revoked session is revoked');
select is(sessionguard.check_access(:'expired', :'uid'), 'expired', 'an expired session is expired');
select is(sessionguard.check_access(:'idle', :'uid'), 'expired', 'an idle-timed-out session is expired');
select is(sessionguard.check_access(:'live', :'uid' || 'x'), 'not_found', 'a live sid under another sub is not found');
select is(sessionguard.check_access(gen_random_uuid(), :'uid'), 'not_found', 'an unknown sid is not found');

select is(sessionguard.check_access(:'live', :'uid', :'jkt', 'jti-1', 121), 'active', 'a new proof of a live session passes');
select is(sessionguard.check_access(:'live', :'uid', :'jkt', 'jti-1', 121), 'dpop_replayed', 'the same proof again is a replay');
select is(sessionguard.check_access(:'revoked', :'uid', :'jkt', 'jti-2', 121), 'revoked', 'a dead session is refused first');
select is((select count(*)::int from sessionguard.dpop_proofs where jkt = :'jkt' and jti = 'jti-2'), 0,
  'a dead session''s proof is not recorded');
select throws_ok(format('select sessionguard.check_access(%L, %L, %L, null)', :'live', :'uid', :'jkt'),
  '22023', null, 'a key without a proof id is a bad argument');

select ok(has_function_privilege('service_role', 'sessionguard.check_access(uuid, text, text, text, integer, timestamptz)', 'execute'),
  'service_role may call check_access');
select ok(not has_function_privilege('authenticated', 'sessionguard.check_access(uuid, text, text, text, integer, timestamptz)', 'execute')
  and not has_function_privilege('anon', 'sessionguard.check_access(uuid, text, text, text, integer, timestamptz)', 'execute'),
  'neither anon nor authenticated may call it');

select * from finish();
rollback;
