-- Bad input: the SQL API answers null, empty, oversized or malformed arguments with
-- SQLSTATE 22023 (or Postgres's own 22P02 for a malformed uuid) and writes nothing.
begin;
set local search_path = extensions, public;
select plan(28);

create temp table before as
  select (select count(*) from sessionguard.families) as families, (select count(*) from sessionguard.events) as events;
select set_config('t.f', (select session_id::text from sessionguard.start_session(
  'user_bad', null, null, null, null, 3600, 86400)), true);
create temp table baseline as
  select (select count(*) from sessionguard.families) as families, (select count(*) from sessionguard.events) as events,
         (select generation from sessionguard.families where id = current_setting('t.f')::uuid) as generation;

select throws_ok($$ select sessionguard.start_session(null, null, null, null, null, 60, 60) $$,
  '22023', 'p_user_id must be a Clerk user id of 1 to 255 characters', 'start: null user id');
select throws_ok($$ select sessionguard.start_session('', null, null, null, null, 60, 60) $$,
  '22023', null, 'start: empty user id');
select throws_ok($$ select sessionguard.start_session(repeat('u', 256), null, null, null, null, 60, 60) $$,
  '22023', null, 'start: oversized user id');
select throws_ok($$ select sessionguard.start_session('user_bad', '', null, null, null, 60, 60) $$,
  '22023', null, 'start: empty Clerk session id');
select throws_ok($$ select sessionguard.start_session('user_bad', null, repeat('d', 201), null, null, 60, 60) $$,
  '22023', null, 'start: oversized device name');
select throws_ok($$ select sessionguard.start_session('user_bad', null, null, repeat('a', 1025), null, 60, 60) $$,
  '22023', null, 'start: oversized user agent');
select throws_ok($$ select sessionguard.start_session('user_bad', null, null, null, null, 0, 60) $$,
  '22023', null, 'start: zero idle timeout');
select throws_ok($$ select sessionguard.start_session('user_bad', null, null, null, null, 60, -1) $$,
  '22023', null, 'start: negative lifetime');
select throws_ok($$ select sessionguard.start_session('user_bad', null, null, null, null, 60, 60, 'short') $$,
  '22023', null, 'start: malformed key thumbprint');
select throws_ok($$ select sessionguard.start_session('user_bad', null, null, null, 'not an ip', 60, 60) $$,
  '22P02', null, 'start: malformed ip');

create function pg_temp.policy(p_patch jsonb default '{}') returns jsonb language sql as $$
  select jsonb_build_object('idle_timeout', 60, 'reuse_grace', 10, 'theft_scope', 'family', 'dpop_lifetime', 300,
                            'dpop_mismatch', 'refuse', 'rate_limit', null, 'ip_rate_limit', null) || p_patch;
$$;
select throws_ok($$ select sessionguard.refresh_session(null, 0, pg_temp.policy()) $$,
  '22023', null, 'refresh: null session id');
select throws_ok($$ select sessionguard.refresh_session('nope', 0, pg_temp.policy()) $$,
  '22P02', null, 'refresh: malformed session id');
select throws_ok(format($$ select sessionguard.refresh_session(%L, -1, pg_temp.policy()) $$, current_setting('t.f')),
  '22023', null, 'refresh: negative generation');
select throws_ok(format($$ select sessionguard.refresh_session(%L, null, pg_temp.policy()) $$, current_setting('t.f')),
  '22023', null, 'refresh: null generation');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, pg_temp.policy('{"reuse_grace": 61}')) $$, current_setting('t.f')),
  '22023', 'p_policy.reuse_grace must be 0 to 60 seconds', 'refresh: grace above 60 s');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, pg_temp.policy('{"theft_scope": "everyone"}')) $$, current_setting('t.f')),
  '22023', null, 'refresh: unknown theft scope');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, pg_temp.policy('{"idle_timeout": 0}')) $$, current_setting('t.f')),
  '22023', null, 'refresh: zero idle timeout');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, pg_temp.policy() - 'rate_limit') $$, current_setting('t.f')),
  '22023', null, 'refresh: a policy without rate_limit names it');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, pg_temp.policy('{"rate_limit": {"count": 0, "seconds": 60}}')) $$, current_setting('t.f')),
  '22023', null, 'refresh: a zero budget is refused');
select throws_ok(format($$ select sessionguard.refresh_session(%L, 0, null) $$, current_setting('t.f')),
  '22023', null, 'refresh: a null policy is refused');


select throws_ok($$ select sessionguard.revoke_session('user_bad', null) $$, '22023', null, 'revoke: null session');
select throws_ok(format($$ select sessionguard.revoke_session('user_bad', %L, 'refresh_token_reused') $$, current_setting('t.f')),
  '22023', null, 'revoke: a reason the caller may not give');
select throws_ok($$ select sessionguard.revoke_user_sessions('', 'signed_out') $$, '22023', null, 'revoke all: empty user');
select throws_ok($$ select sessionguard.revoke_clerk_session(null, 'clerk_session_ended') $$, '22023', null,
  'revoke Clerk session: null id');
select throws_ok($$ select sessionguard.list_events('user_bad', 100000) $$, '22023', null, 'events: limit too large');
select throws_ok($$ select sessionguard.purge_expired(now(), interval '-1 day') $$, '22023', null, 'purge: negative retention');

select is((select generation from sessionguard.families where id = current_setting('t.f')::uuid),
  (select generation from baseline), 'bad input left the family as it was');
select results_eq(
  $$ select (select count(*) from sessionguard.families), (select count(*) from sessionguard.events) $$,
  $$ select families, events from baseline $$, 'bad input wrote no family and no event');

select * from finish();
rollback;
