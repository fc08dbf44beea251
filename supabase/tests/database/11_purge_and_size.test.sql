-- Size: purge works in bounded batches (ended families by index, idle ones in bounded id
-- ranges that continue from call to call), and the lookups of a refresh and of the RLS
-- helper go through the index of live families only, while an ended family still
-- answers as ended (P2) and an unknown one as unknown (P4).
begin;
set local search_path = extensions, public;
select plan(14);

-- Start from an empty table so the counts below are this test's own.
delete from sessionguard.families;
update sessionguard.purge_cursors set last_id = null;

create function pg_temp.start(p_user text, p_idle integer, p_lifetime integer, p_at timestamptz)
returns uuid language sql as $$
  select s.session_id from sessionguard.start_session(p_user, null, 'dev', null, null, p_idle, p_lifetime, null, p_at) s;
$$;

-- Five idle families (idle timeout 60 s, started a day ago), one past its absolute
-- expiry, two active ones.
select pg_temp.start('user_idle_' || g, 60, 604800, now() - interval '1 day') from generate_series(1, 5) g;
select set_config('t.gone', pg_temp.start('user_gone', 60, 120, now() - interval '1 day')::text, true);
select set_config('t.live1', pg_temp.start('user_live', 3600, 86400, now())::text, true);
select set_config('t.live2', pg_temp.start('user_live', 3600, 86400, now())::text, true);

-- With p_batch 2, one call ends the family past its absolute expiry (by index) and at
-- most two idle ones, however many there are.
select results_eq($$ select expired, deleted from sessionguard.purge_expired(now(), interval '1 day', 2) $$,
  $$ values (3, 0) $$, 'purge: one bounded batch ends the expired family and two idle ones');
select is((select revoked_reason from sessionguard.families where id = current_setting('t.gone')::uuid),
  'session_expired', 'purge: the family past its absolute expiry is ended first');
select is((select count(*)::int from sessionguard.families where user_id like 'user_idle_%' and revoked_at is null),
  3, 'purge: three idle families wait for the next calls');

-- The next calls continue after the cursor, wrap around, and end every idle family.
select sessionguard.purge_expired(now(), interval '1 day', 2) from generate_series(1, 4);
select is((select count(*)::int from sessionguard.families where user_id like 'user_idle_%' and revoked_at is null),
  0, 'purge: the idle sweep reaches every idle family within a few calls');
select is((select count(*)::int from sessionguard.events where user_id like 'user_idle_%' and type = 'session_expired'),
  5, 'purge: each idle family gets its session_expired event');
select is((select count(*)::int from sessionguard.families where user_id = 'user_live' and revoked_at is null),
  2, 'purge: active families are never ended');

-- Deleting ended families: oldest first, by index, at most p_batch per call.
select results_eq($$ select deleted from sessionguard.purge_expired(now() + interval '2 days', interval '1 day', 4) $$,
  $$ values (4) $$, 'purge: deletes at most p_batch ended families per call');
select results_eq($$ select deleted from sessionguard.purge_expired(now() + interval '2 days', interval '1 day', 4) $$,
  $$ values (2) $$, 'purge: the next call deletes the rest');

-- The idle sweep reads a bounded range: with p_batch 1 a call looks at ten live families
-- at most, so an idle family behind thirty active ones (in id order) is found by the
-- fourth call, not the first.
update sessionguard.purge_cursors set last_id = null;
insert into sessionguard.families (id, user_id, idle_expires_at, expires_at)
select ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user_active_' || g,
  now() + interval '1 hour', now() + interval '1 day'
from generate_series(1, 30) g;
insert into sessionguard.families (id, user_id, created_at, last_active_at, idle_expires_at, expires_at)
values ('ffffffff-ffff-4fff-bfff-ffffffffffff', 'user_idle_last', now() - interval '2 hours',
  now() - interval '2 hours', now() - interval '1 hour', now() + interval '1 day');
select is(
  array(select (sessionguard.purge_expired(now(), interval '1 day', 1)).expired from generate_series(1, 4) g),
  array[0, 0, 0, 1], 'purge: each call sweeps a bounded range of ids and continues where the last stopped');

-- The RLS helper's lookup uses the index of live families; a refresh's, an index too.
select has_index('sessionguard', 'families', 'families_live_id_idx', 'index of live families by id');
select ok(
  (select count(*) from pg_index i where i.indexrelid = 'sessionguard.families_live_id_idx'::regclass
     and pg_get_expr(i.indpred, i.indrelid) = '(revoked_at IS NULL)') = 1,
  'the live index holds only families that are not revoked');
create function pg_temp.plan_of(p_query text) returns text language plpgsql as $$
declare
  v_line text;
  v_plan text := '';
begin
  for v_line in execute 'explain (costs off) ' || p_query loop
    v_plan := v_plan || v_line || E'\n';
  end loop;
  return v_plan;
end;
$$;
-- Enough ended families that the planner sees the difference in index size.
insert into sessionguard.families (user_id, device_name, created_at, last_active_at, idle_expires_at,
  expires_at, revoked_at, revoked_reason)
select 'user_ended_' || g, 'dev', now() - interval '3 days', now() - interval '3 days',
  now() - interval '2 days', now() + interval '20 days', now() - interval '2 days', 'signed_out'
from generate_series(1, 2000) g;
analyze sessionguard.families;
select matches(
  pg_temp.plan_of(format(
    $q$ select * from sessionguard.families f where f.id = %L for update $q$, current_setting('t.live1'))),
  'Index Scan using families_(pkey|live_id_idx)',
  'a refresh locks its family by an index lookup, however many ended families there are');

-- P2 and P4 with many ended families around: a token of an ended family answers
-- revoked, an unknown family not_found.
select sessionguard.revoke_session('user_live', current_setting('t.live2')::uuid, 'signed_out');
select set_config('t.policy', '{"idle_timeout": 3600, "reuse_grace": 10, "theft_scope": "family", "dpop_lifetime": 300,
  "dpop_mismatch": "refuse", "rate_limit": null, "ip_rate_limit": null}', true);
select results_eq(
  format($$ select result from sessionguard.refresh_session(%L, 0, %L) $$,
         current_setting('t.live2'), current_setting('t.policy')),
  $$ values ('revoked') $$, 'P2: the token of an ended family still answers revoked');
select results_eq(
  format($$ select result from sessionguard.refresh_session(gen_random_uuid(), 0, %L) $$, current_setting('t.policy')),
  $$ values ('not_found') $$, 'P4: an unknown family answers not_found and nothing is revoked');

select * from finish();
rollback;
