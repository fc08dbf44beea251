-- Hardening found by the security review (issue 12): a thief without the device key
-- cannot spend a bound family's budget nor flood its events (item 1); a function added
-- to the schema later is not executable by the API roles (item 4); an impersonated
-- session records its actor (item 8).
begin;
set local search_path = extensions, public;
select plan(17);

create temp table t0 as select timestamptz '2026-03-01 00:00:00+00' as t;
create function pg_temp.at(p_secs numeric) returns timestamptz language sql as $$
  select t + make_interval(secs => p_secs) from t0;
$$;

-- Item 4: default privileges. A function created later by the role that applies the
-- migrations (as a future migration would) must not be executable by PUBLIC, anon or
-- authenticated unless granted.
create function sessionguard.sg_future_probe() returns int language sql as $$ select 1 $$;
select ok(not has_function_privilege('anon', 'sessionguard.sg_future_probe()', 'execute'),
  'a function added to sessionguard later is not executable by anon');
select ok(not has_function_privilege('authenticated', 'sessionguard.sg_future_probe()', 'execute'),
  'a function added to sessionguard later is not executable by authenticated');
select is(
  (select count(*)::int from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   where p.oid = 'sessionguard.sg_future_probe()'::regprocedure and a.grantee = 0),
  0, 'nor by PUBLIC');
set local role anon;
select throws_ok($$ select sessionguard.sg_future_probe() $$, '42501', null,
  'anon calling it is refused');
reset role;
-- Functions elsewhere keep PostgreSQL's default, so an app's own functions in public work as before.
create function public.sg_public_probe() returns int language sql as $$ select 1 $$;
select ok(has_function_privilege('anon', 'public.sg_public_probe()', 'execute'),
  'a new function in schema public keeps its default (PUBLIC execute)');

-- Item 1: a bound family; its key's proofs rotate it, any other caller is a stranger.
select set_config('t.f', (select session_id::text from sessionguard.start_session(
  'user_hardening', 'sess_hardening', 'phone', null, '198.51.100.9', 3600, 86400, repeat('A', 43),
  pg_temp.at(0))), true);
create function pg_temp.refresh(p_gen bigint, p_secs numeric, p_jkt text, p_jti text, p_ip inet)
returns table (result text, generation bigint) language sql as $$
  select r.result, r.generation from sessionguard.refresh_session(
    current_setting('t.f')::uuid, p_gen,
    '{"idle_timeout": 3600, "reuse_grace": 10, "theft_scope": "family", "dpop_lifetime": 300,
      "dpop_mismatch": "refuse", "rate_limit": {"count": 3, "seconds": 60}, "ip_rate_limit": 30}',
    p_ip, 'agent', p_jkt, p_jti, pg_temp.at(p_secs)) r;
$$;
select results_eq($$ select * from pg_temp.refresh(0, 1, repeat('A', 43), 'own-1', '198.51.100.9') $$,
  $$ values ('rotated', 1::bigint) $$, 'the owner rotates with its key');

-- Twenty replays of the spent generation 0 without a proof, each from another address.
select is(
  array(select distinct r.result from generate_series(1, 20) i,
        lateral pg_temp.refresh(0, 2 + i * 0.1, null, null, ('203.0.113.' || i)::inet) r order by 1),
  array['dpop_mismatch', 'rate_limited'],
  'replays without the key are refused, then limited');
select is(
  (select count(*)::int from generate_series(1, 5) i,
   lateral pg_temp.refresh(0, 5 + i * 0.1, repeat('B', 43), 'thief-' || i, ('192.0.2.' || i)::inet) r
   where r.result in ('dpop_mismatch', 'rate_limited')),
  5, 'replays with another key are refused too');
select results_eq($$ select * from pg_temp.refresh(1, 10, repeat('A', 43), 'own-2', '198.51.100.9') $$,
  $$ values ('rotated', 2::bigint) $$,
  'the owner''s next refresh still rotates: the strangers spent none of the family''s budget');
select is(
  (select count(*)::int from sessionguard.events
   where session_id = current_setting('t.f')::uuid and type = 'dpop_key_mismatch'),
  1, 'the 25 refused replays wrote one dpop_key_mismatch event, not 25');
select is(
  (select count(*)::int from sessionguard.dpop_proofs where jkt = repeat('B', 43)),
  0, 'proofs of a key the family is not bound to are not stored');
select results_eq(
  $$ select result from pg_temp.refresh(0, 70, null, null, '203.0.113.99') $$,
  $$ values ('dpop_mismatch') $$, 'in the next window a stranger is refused again');
select is(
  (select count(*)::int from sessionguard.events
   where session_id = current_setting('t.f')::uuid and type = 'dpop_key_mismatch'),
  2, 'and that window gets its own single event');

-- Item 8: an impersonated session records who acted.
select set_config('t.imp', (select session_id::text from sessionguard.start_session(
  'user_victim', 'sess_imp', 'laptop', null, null, 3600, 3600, null, pg_temp.at(0),
  p_actor_id => 'user_admin')), true);
select is((select actor_id from sessionguard.families where id = current_setting('t.imp')::uuid),
  'user_admin', 'an impersonated session records its actor');
select is(
  (select e.actor_id from sessionguard.events e
   where e.session_id = current_setting('t.imp')::uuid and e.type = 'session_started'),
  'user_admin', 'and so does its session_started event');
select ok(
  (select e.description like '%user_admin%impersonation%' from sessionguard.events e
   where e.session_id = current_setting('t.imp')::uuid and e.type = 'session_started'),
  'whose description tells the user who acted');
select throws_ok(
  $$ select sessionguard.start_session('user_victim', 'sess_imp2', null, null, null, 3600, 3600, null, now(),
       p_actor_id => '') $$,
  '22023', 'p_actor_id must be null or a Clerk user id of 1 to 255 characters',
  'an empty actor id is refused, naming the argument');

select * from finish();
rollback;
