-- Rate-limit keys: count_request builds every key, for /start, the access-token routes
-- and /refresh, under the names the counters were stored by before (renaming one would
-- reset its live windows); the ip is counted only when known and given a budget.
begin;
set local search_path = extensions, public;
select plan(11);

create temp table t0 as select timestamptz '2026-02-01 00:00:00+00' as t;
create function pg_temp.at(p_secs numeric) returns timestamptz language sql as $$
  select t + make_interval(secs => p_secs) from t0;
$$;
create function pg_temp.hits(p_key text) returns integer language sql as $$
  select hits from sessionguard.rate_limits where key = p_key;
$$;

select is(sessionguard.count_request('start', 'user_keys', '198.51.100.20', 2, 20, 60, pg_temp.at(0)), 0,
  'start: allowed');
select is(pg_temp.hits('start:user:user_keys'), 1, 'start counts start:user:<user id>');
select is(pg_temp.hits('start:ip:198.51.100.20'), 1, 'start counts start:ip:<ip>');

select is(sessionguard.count_request('api', '00000000-0000-4000-8000-000000000001', null, 2, 20, 60, pg_temp.at(0)), 0,
  'api without an ip: allowed');
select is(pg_temp.hits('api:family:00000000-0000-4000-8000-000000000001'), 1, 'api counts api:family:<session id>');
select is((select count(*)::int from sessionguard.rate_limits where key like 'api:ip:%'), 0,
  'no ip, no ip counter');

select is(sessionguard.count_request('refresh', '00000000-0000-4000-8000-000000000002', '2001:db8::1', 2, null, 60,
  pg_temp.at(0), true), 0, 'refresh of a stranger, no ip budget: allowed');
select is(pg_temp.hits('refresh:family:00000000-0000-4000-8000-000000000002:stranger'), 1,
  'a stranger is counted in refresh:family:<session id>:stranger');
select is((select count(*)::int from sessionguard.rate_limits where key like 'refresh:ip:%'), 0,
  'no ip budget, no ip counter');

select is(
  array(select sessionguard.count_request('start', 'user_keys', '198.51.100.20', 2, 20, 60, pg_temp.at(s))
        from unnest(array[1, 2]) s),
  array[0, 58], 'the third start in the window waits for the next one');

select throws_ok($$ select sessionguard.count_request('other', 'x', null, 2, 20, 60) $$, '22023',
  'p_route must be start, api or refresh', 'an unknown route is refused');

select * from finish();
rollback;
