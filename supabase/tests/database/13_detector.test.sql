-- The detector cannot be silenced (P13) and an honest device is never a thief (P14):
-- refresh_session decides reuse before any budget, counts strangers apart, and gives a
-- bound family's key holder the successor it lost at any age. Time is moved with p_now.
begin;
set local search_path = extensions, public;
select plan(23);

create temp table t0 as select timestamptz '2026-03-02 00:00:00+00' as t;
create function pg_temp.at(p_secs numeric) returns timestamptz language sql as $$
  select t + make_interval(secs => p_secs) from t0;
$$;
create function pg_temp.start(p_user text, p_jkt text default null) returns text language sql as $$
  select s.session_id::text from sessionguard.start_session(p_user, 'sess_' || p_user, 'Phone', 'agent/1.0',
    '198.51.100.1', 86400 * 30, 86400 * 60, p_jkt, pg_temp.at(0)) s;
$$;
-- refresh(family, generation, at, proof key, ip, budget, mismatch) -> result, generation;
-- a proof key comes with a fresh proof id.
create function pg_temp.refresh(p_id text, p_gen bigint, p_secs numeric, p_jkt text default null,
                                p_ip inet default '198.51.100.1', p_limit int default 4,
                                p_mismatch text default 'refuse')
returns table (result text, generation bigint) language sql as $$
  select r.result, r.generation from sessionguard.refresh_session(p_id::uuid, p_gen,
    jsonb_build_object('idle_timeout', 86400 * 30, 'reuse_grace', 10, 'theft_scope', 'family',
      'dpop_lifetime', 300, 'dpop_mismatch', p_mismatch,
      'rate_limit', case when p_limit is not null then jsonb_build_object('count', p_limit, 'seconds', 60) end,
      'ip_rate_limit', p_limit * 10),
    p_ip, 'agent/1.0', p_jkt, case when p_jkt is not null then gen_random_uuid()::text end, pg_temp.at(p_secs)) r;
$$;
create function pg_temp.revoked(p_id text) returns text language sql as $$
  select revoked_reason from sessionguard.families where id = p_id::uuid;
$$;
create function pg_temp.events(p_id text, p_type text) returns int language sql as $$
  select count(*)::int from sessionguard.events where session_id = p_id::uuid and type = p_type;
$$;

-- P13, issue 21 item 1: a thief who holds the current token spends the family's budget
-- (four refreshes in the window), then the owner presents its spent token.
select set_config('t.f', pg_temp.start('user_silence'), true);
select pg_temp.refresh(current_setting('t.f'), 0, 1);                          -- owner: gen 0 -> 1
select is(
  array(select r.result from generate_series(1, 5) i,
        lateral pg_temp.refresh(current_setting('t.f'), i, 60 + i, null, '203.0.113.66') r order by i),
  array['rotated', 'rotated', 'rotated', 'rotated', 'rate_limited'],
  'the thief rotates until the family''s budget is spent');
select results_eq($$ select result from pg_temp.refresh(current_setting('t.f'), 1, 70) $$,
  $$ values ('reused') $$, 'P13: the owner''s spent token still reaches the detector: reused, not rate_limited');
select is(pg_temp.revoked(current_setting('t.f')), 'refresh_token_reused', 'P13: the family is revoked');
select is(pg_temp.events(current_setting('t.f'), 'refresh_token_reused'), 1, 'P13: and the theft event is written');

-- P13: spending the address's budget does not silence it either.
select set_config('t.g', pg_temp.start('user_silence_ip'), true);
select pg_temp.refresh(current_setting('t.g'), 0, 1);
select sessionguard.check_rate_limit(array['refresh:ip:198.51.100.1'], 1, 60, pg_temp.at(120))
  from generate_series(1, 50) g;
select results_eq($$ select result from pg_temp.refresh(current_setting('t.g'), 0, 120) $$,
  $$ values ('reused') $$, 'P13: with the address''s budget spent, reuse still revokes');

-- P13, items 2-3: strangers (no proof of a bound family's key) have budgets of their own,
-- for the family and for the address alike.
select set_config('t.b', pg_temp.start('user_bound', repeat('A', 43)), true);
select is(
  (select count(*)::int from generate_series(1, 60) i,
   lateral pg_temp.refresh(current_setting('t.b'), 0, 200 + i * 0.1, null, '198.51.100.1') r
   where r.result = 'rate_limited'),
  56, 'keyless calls from the owner''s own address are refused after the strangers'' budget of 4');
select results_eq(
  $$ select result, generation from pg_temp.refresh(current_setting('t.b'), 0, 210, repeat('A', 43)) $$,
  $$ values ('rotated', 1::bigint) $$,
  'P13: the owner, from the same address, still rotates: neither its family nor its address budget was spent');
select is((select hits from sessionguard.rate_limits where key = 'refresh:ip:198.51.100.1:stranger'), 60,
  'the strangers were counted on a key of their own');

-- P14: a bound family's lost answer. The device holds generation 1 (its answer for 2 was
-- lost) and comes back a day later with a proof from its key.
select results_eq(
  $$ select result, generation from pg_temp.refresh(current_setting('t.b'), 1, 212, repeat('A', 43)) $$,
  $$ values ('rotated', 2::bigint) $$, 'the device rotates; the answer is lost on the way');
select results_eq(
  $$ select result, generation from pg_temp.refresh(current_setting('t.b'), 1, 86400, repeat('A', 43)) $$,
  $$ values ('grace', 2::bigint) $$, 'P14: a day later, the key holder gets the same successor (generation 2)');
select results_eq(
  $$ select result, generation from pg_temp.refresh(current_setting('t.b'), 1, 86400 * 2, repeat('A', 43)) $$,
  $$ values ('grace', 2::bigint) $$, 'P14: and again: any age, no event, nothing revoked');
select is(pg_temp.revoked(current_setting('t.b')), null, 'P14: the family lives');
select is(pg_temp.events(current_setting('t.b'), 'refresh_token_reused'), 0, 'P14: no theft event');
select results_eq(
  $$ select result from pg_temp.refresh(current_setting('t.b'), 1, 86400 * 2 + 1, repeat('B', 43)) $$,
  $$ values ('dpop_mismatch') $$, 'P14: without the key the same token changes nothing');
select results_eq(
  $$ select result, generation from pg_temp.refresh(current_setting('t.b'), 2, 86400 * 2 + 2, repeat('A', 43)) $$,
  $$ values ('rotated', 3::bigint) $$, 'the device then presents the successor and rotates on');
select results_eq(
  $$ select result from pg_temp.refresh(current_setting('t.b'), 1, 86400 * 2 + 3, repeat('A', 43)) $$,
  $$ values ('reused') $$, 'P2: two generations back, even with the key, is reuse');

-- P14 ends once the successor itself was presented: someone else holds it.
select set_config('t.c', pg_temp.start('user_presented', repeat('A', 43)), true);
select pg_temp.refresh(current_setting('t.c'), 0, 1, repeat('A', 43));          -- gen 0 -> 1, answer lost
select results_eq($$ select result from pg_temp.refresh(current_setting('t.c'), 1, 2, null, '203.0.113.66') $$,
  $$ values ('dpop_mismatch') $$, 'a keyless caller presents the successor (generation 1)');
select ok((select current_presented from sessionguard.families where id = current_setting('t.c')::uuid),
  'the successor is recorded as presented');
select results_eq($$ select result from pg_temp.refresh(current_setting('t.c'), 0, 3600, repeat('A', 43)) $$,
  $$ values ('reused') $$, 'P14: then the previous token, outside the grace window, is reuse even with the key');

-- Unbound families keep only the grace window (P3): the same lost answer a day later is reuse.
select set_config('t.u', pg_temp.start('user_unbound'), true);
select pg_temp.refresh(current_setting('t.u'), 0, 1);
select results_eq($$ select result, generation from pg_temp.refresh(current_setting('t.u'), 0, 5) $$,
  $$ values ('grace', 1::bigint) $$, 'P3: unbound, inside the window: the same successor');
select results_eq($$ select result from pg_temp.refresh(current_setting('t.u'), 0, 86400) $$,
  $$ values ('reused') $$, 'P3/P2: unbound, a day later: reuse, the family is revoked');

-- SESSION_DPOP_MISMATCH=revoke is decided in the same call.
select set_config('t.r', pg_temp.start('user_mismatch', repeat('A', 43)), true);
select results_eq(
  $$ select result from pg_temp.refresh(current_setting('t.r'), 0, 1, repeat('B', 43), '203.0.113.66', 4, 'revoke') $$,
  $$ values ('dpop_mismatch') $$, 'a foreign key is refused');
select is(pg_temp.revoked(current_setting('t.r')), 'session_revoked', 'and with dpop_mismatch = revoke the session ends');

select * from finish();
rollback;
