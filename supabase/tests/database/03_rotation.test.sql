-- Rotation: one-time tokens (P1), theft detection with both scopes (P2), the grace
-- window (P3), lifetimes (P8), and what SQL can show of atomicity (P9). Time is moved
-- with p_now; t0 is a fixed instant.
begin;
set local search_path = extensions, public;
select plan(36);

create temp table t0 as select timestamptz '2026-01-01 00:00:00+00' as t;

-- rotate(family, generation, at +seconds, grace, scope, proof key) -> result row, through
-- refresh_session with no budgets (a proof key comes with a fresh proof id)
create function pg_temp.rot(p_id text, p_gen bigint, p_secs int, p_grace int default 10,
                            p_scope text default 'family', p_jkt text default null)
returns table (result text, generation bigint)
language sql as $$
  select r.result, r.generation
  from sessionguard.refresh_session(p_id::uuid, p_gen,
    jsonb_build_object('idle_timeout', 3600, 'reuse_grace', p_grace, 'theft_scope', p_scope,
                       'dpop_lifetime', 300, 'dpop_mismatch', 'refuse', 'rate_limit', null, 'ip_rate_limit', null),
    '203.0.113.7', 'thief-agent/1.0', p_jkt, case when p_jkt is not null then gen_random_uuid()::text end,
    (select t from t0) + make_interval(secs => p_secs)) r;
$$;
create function pg_temp.start(p_user text, p_idle int default 3600, p_abs int default 86400,
                              p_jkt text default null)
returns text language sql as $$
  select s.session_id::text from sessionguard.start_session(p_user, 'sess_' || p_user, 'Laptop', 'agent/1.0',
    '198.51.100.1', p_idle, p_abs, p_jkt, (select t from t0)) s;
$$;
create function pg_temp.revoked(p_id text) returns text language sql as $$
  select revoked_reason from sessionguard.families where id = p_id::uuid;
$$;

-- P1: each rotation spends the presented token and names the next generation.
select set_config('t.f', pg_temp.start('user_rot'), true);
select is((select generation from sessionguard.families where id = current_setting('t.f')::uuid), 0::bigint,
  'a new family starts at generation 0');
select results_eq($$ select * from pg_temp.rot(current_setting('t.f'), 0, 1) $$,
  $$ values ('rotated', 1::bigint) $$, 'P1: presenting generation 0 rotates to 1');
select results_eq($$ select * from pg_temp.rot(current_setting('t.f'), 1, 2) $$,
  $$ values ('rotated', 2::bigint) $$, 'P1: presenting generation 1 rotates to 2');
select is((select last_active_at from sessionguard.families where id = current_setting('t.f')::uuid),
  (select t + interval '2 seconds' from t0), 'rotation records activity');
select is((select host(ip) from sessionguard.families where id = current_setting('t.f')::uuid),
  '203.0.113.7', 'rotation records the latest ip');

-- P3: the token spent by the latest rotation, within the grace window, gets the same successor.
select results_eq($$ select * from pg_temp.rot(current_setting('t.f'), 1, 3) $$,
  $$ values ('grace', 2::bigint) $$, 'P3: a retry within the window gets the identical successor');
select results_eq($$ select * from pg_temp.rot(current_setting('t.f'), 1, 11) $$,
  $$ values ('grace', 2::bigint) $$, 'P3: again, still inside the 10 s window');
select is((select generation from sessionguard.families where id = current_setting('t.f')::uuid), 2::bigint,
  'P3/P9: grace retries create no branch: the generation stays 2');
select is(pg_temp.revoked(current_setting('t.f')), null, 'P3: the family is intact after retries');

-- P2: an older token than the immediately previous one is reuse, even inside the window.
select results_eq($$ select result from pg_temp.rot(current_setting('t.f'), 0, 4) $$,
  $$ values ('reused') $$, 'P2: a token two generations old is reuse');
select is(pg_temp.revoked(current_setting('t.f')), 'refresh_token_reused', 'P2: reuse revoked the family');
select results_eq(
  $$ select type, host(ip), user_agent from sessionguard.events
     where session_id = current_setting('t.f')::uuid and type = 'refresh_token_reused' $$,
  $$ values ('refresh_token_reused', '203.0.113.7', 'thief-agent/1.0') $$,
  'P2: a refresh_token_reused event records ip and user agent');
select results_eq($$ select result from pg_temp.rot(current_setting('t.f'), 2, 5) $$,
  $$ values ('revoked') $$, 'after revocation even the current token answers revoked');
select results_eq($$ select result from pg_temp.rot(current_setting('t.f'), 1, 5) $$,
  $$ values ('revoked') $$, 'after revocation the previous token answers revoked');

-- P3/P2: the previous token after the window is reuse.
select set_config('t.g', pg_temp.start('user_rot'), true);
select results_eq($$ select result from pg_temp.rot(current_setting('t.g'), 0, 0) $$,
  $$ values ('rotated') $$, 'fresh family rotates');
select results_eq($$ select result from pg_temp.rot(current_setting('t.g'), 0, 10) $$,
  $$ values ('reused') $$, 'P2: the previous token 10 s after rotation (window 10 s) is reuse');
select is(pg_temp.revoked(current_setting('t.g')), 'refresh_token_reused', 'P2: family revoked after the window');

-- With a grace of 0 every repeat is reuse.
select set_config('t.h', pg_temp.start('user_rot'), true);
select results_eq($$ select result from pg_temp.rot(current_setting('t.h'), 0, 0, 0) $$,
  $$ values ('rotated') $$, 'rotates with grace 0');
select results_eq($$ select result from pg_temp.rot(current_setting('t.h'), 0, 0, 0) $$,
  $$ values ('reused') $$, 'P3: with grace 0 an immediate repeat is reuse');

-- P2 scopes: family revokes one session; user revokes every session of that user only.
select set_config('t.u1', pg_temp.start('user_scope'), true);
select set_config('t.u2', pg_temp.start('user_scope'), true);
select set_config('t.u3', pg_temp.start('user_scope'), true);
select set_config('t.other', pg_temp.start('user_bystander'), true);
select pg_temp.rot(current_setting('t.u1'), 0, 1);
select results_eq($$ select result from pg_temp.rot(current_setting('t.u1'), 0, 30, 10, 'family') $$,
  $$ values ('reused') $$, 'P2 family scope: reuse detected');
select is((select count(*)::int from sessionguard.families where user_id = 'user_scope' and revoked_at is null), 2,
  'P2 family scope: the user''s other sessions stay live');
select pg_temp.rot(current_setting('t.u2'), 0, 1);
select results_eq($$ select result from pg_temp.rot(current_setting('t.u2'), 0, 30, 10, 'user') $$,
  $$ values ('reused') $$, 'P2 user scope: reuse detected');
select is((select count(*)::int from sessionguard.families where user_id = 'user_scope' and revoked_at is null), 0,
  'P2 user scope: every session of the user is revoked');
select is(pg_temp.revoked(current_setting('t.other')), null, 'P2 user scope: another user is untouched');

-- P8: idle timeout and absolute lifetime, enforced on refresh.
select set_config('t.idle', pg_temp.start('user_life', 60, 3600), true);
select results_eq($$ select result from pg_temp.rot(current_setting('t.idle'), 0, 59) $$,
  $$ values ('rotated') $$, 'P8: refreshed inside the idle timeout');
-- that rotation pushed the idle deadline to 59 s + the 3600 s rot() passes
select results_eq($$ select result from pg_temp.rot(current_setting('t.idle'), 1, 59 + 3600) $$,
  $$ values ('expired') $$, 'P8: idle for the whole timeout: expired');
select is(pg_temp.revoked(current_setting('t.idle')), 'session_expired', 'P8: the idle session is ended');

select set_config('t.abs', pg_temp.start('user_life', 60, 100), true);
select results_eq($$ select result from pg_temp.rot(current_setting('t.abs'), 0, 50) $$,
  $$ values ('rotated') $$, 'P8: active session rotates');
select is((select idle_expires_at from sessionguard.families where id = current_setting('t.abs')::uuid),
  (select t + interval '100 seconds' from t0), 'P8: the idle deadline never passes the absolute expiry');
select results_eq($$ select result from pg_temp.rot(current_setting('t.abs'), 1, 99) $$,
  $$ values ('rotated') $$, 'P8: still inside the absolute lifetime');
select results_eq($$ select result from pg_temp.rot(current_setting('t.abs'), 2, 100) $$,
  $$ values ('expired') $$, 'P8: at the absolute lifetime, however active: expired');

-- Tokens the server never issued change nothing.
select set_config('t.k', pg_temp.start('user_rot'), true);
select results_eq($$ select result from pg_temp.rot(current_setting('t.k'), 7, 1) $$,
  $$ values ('not_found') $$, 'a generation ahead of the family is unknown');
select is(pg_temp.revoked(current_setting('t.k')), null, 'an unknown generation revokes nothing');
select results_eq($$ select result from pg_temp.rot(gen_random_uuid()::text, 0, 1) $$,
  $$ values ('not_found') $$, 'an unknown family is not found');

-- Device binding: a bound family rotates only for its key.
select set_config('t.d', pg_temp.start('user_dpop', 3600, 86400, repeat('A', 43)), true);
select results_eq($$ select result, generation from pg_temp.rot(current_setting('t.d'), 0, 1, 10, 'family', repeat('B', 43)) $$,
  $$ values ('dpop_mismatch', 0::bigint) $$, 'a bound family does not rotate for another key');
select results_eq($$ select result from pg_temp.rot(current_setting('t.d'), 0, 2, 10, 'family', repeat('A', 43)) $$,
  $$ values ('rotated') $$, 'a bound family rotates for its own key');

select * from finish();
rollback;
