-- Refresh guards: Postgres-backed rate limits and DPoP proof replay, checked in the same
-- call as the rotation; a refusal leaves the family untouched.
begin;
set local search_path = extensions, public;
select plan(18);

create temp table t0 as select timestamptz '2026-02-01 00:00:00+00' as t;
create function pg_temp.at(p_secs numeric) returns timestamptz language sql as $$
  select t + make_interval(secs => p_secs) from t0;
$$;

-- check_rate_limit: a fixed window per key
select is(sessionguard.check_rate_limit(array['start:ip:198.51.100.1'], 2, 60, pg_temp.at(0)), 0, 'first request allowed');
select is(sessionguard.check_rate_limit(array['start:ip:198.51.100.1'], 2, 60, pg_temp.at(1)), 0, 'second request allowed');
select is(sessionguard.check_rate_limit(array['start:ip:198.51.100.1'], 2, 60, pg_temp.at(20)), 40,
  'third request in the window waits for the window to end');
select is(sessionguard.check_rate_limit(array['start:ip:198.51.100.2'], 2, 60, pg_temp.at(20)), 0,
  'another ip has its own budget');
select is(sessionguard.check_rate_limit(array['start:ip:198.51.100.1'], 2, 60, pg_temp.at(60)), 0,
  'a new window starts afresh');
select throws_ok($$ select sessionguard.check_rate_limit(array[]::text[], 2, 60) $$, '22023', null, 'no keys: refused');
select throws_ok($$ select sessionguard.check_rate_limit(array['k'], 0, 60) $$, '22023', null, 'zero limit: refused');

-- refresh_session: rate limited refreshes do not rotate
select set_config('t.f', (select session_id::text from sessionguard.start_session(
  'user_guard', null, null, null, '198.51.100.5', 3600, 86400, null, pg_temp.at(0))), true);
create function pg_temp.refresh(p_gen bigint, p_secs numeric, p_limit int default 2,
                                p_jkt text default null, p_jti text default null)
returns table (result text, generation bigint, retry_after int) language sql as $$
  select r.result, r.generation, r.retry_after from sessionguard.refresh_session(
    current_setting('t.f')::uuid, p_gen,
    jsonb_build_object('idle_timeout', 3600, 'reuse_grace', 10, 'theft_scope', 'family', 'dpop_lifetime', 300,
      'dpop_mismatch', 'refuse',
      'rate_limit', case when p_limit is not null then jsonb_build_object('count', p_limit, 'seconds', 60) end,
      'ip_rate_limit', p_limit * 10),
    '198.51.100.5', 'agent', p_jkt, p_jti, pg_temp.at(p_secs)) r;
$$;
select results_eq($$ select * from pg_temp.refresh(0, 1) $$, $$ values ('rotated', 1::bigint, 0) $$, 'refresh 1 rotates');
select results_eq($$ select * from pg_temp.refresh(1, 2) $$, $$ values ('rotated', 2::bigint, 0) $$, 'refresh 2 rotates');
select results_eq($$ select result, retry_after from pg_temp.refresh(2, 3) $$, $$ values ('rate_limited', 57) $$,
  'refresh 3 in the window is rate limited with a retry-after');
select is((select generation from sessionguard.families where id = current_setting('t.f')::uuid), 2::bigint,
  'a rate-limited refresh does not rotate');
select is((select hits from sessionguard.rate_limits where key = 'refresh:ip:198.51.100.5'), 3,
  'the ip is counted too, against its own larger budget');
select is(sessionguard.check_rate_limit(array['refresh:ip:198.51.100.5'], 3, 60, pg_temp.at(3)), 57,
  'past the ip budget the ip waits for its window');
select results_eq($$ select result, generation from pg_temp.refresh(2, 61) $$, $$ values ('rotated', 3::bigint) $$,
  'the same token works once the window has passed');
select results_eq($$ select result from pg_temp.refresh(3, 62, null) $$, $$ values ('rotated') $$,
  'with no limit given nothing is counted');

-- refresh_session: a DPoP proof id is accepted once per key
select results_eq($$ select result from pg_temp.refresh(4, 63, null, repeat('K', 43), 'proof-1') $$,
  $$ values ('rotated') $$, 'a fresh proof id passes (the family is unbound, so any key may rotate it)');
select results_eq($$ select result from pg_temp.refresh(5, 64, null, repeat('K', 43), 'proof-1') $$,
  $$ values ('dpop_replay') $$, 'the same proof id again is a replay');
select is((select generation from sessionguard.families where id = current_setting('t.f')::uuid), 5::bigint,
  'a replayed proof does not rotate');

select * from finish();
rollback;
