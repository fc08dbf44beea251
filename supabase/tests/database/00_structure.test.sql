-- Structure: the schema, its tables, keys, indexes and triggers exist; RLS is on for
-- every table; every object says what it is.
begin;
set local search_path = extensions, public;
select plan(23);

select has_schema('sessionguard', 'internal schema exists');
select has_table('sessionguard', 'families', 'session families table exists');
select has_table('sessionguard', 'events', 'security events table exists');
select col_is_pk('sessionguard', 'families', 'id', 'families keyed by id');
select col_is_pk('sessionguard', 'events', 'id', 'events keyed by id');
select col_type_is('sessionguard', 'families', 'user_id', 'text', 'Clerk user ids are text, not uuid');
select col_not_null('sessionguard', 'families', 'generation', 'generation is never null');

select has_index('sessionguard', 'families', 'families_user_id_idx', 'index for a user''s live sessions');
select has_index('sessionguard', 'families', 'families_clerk_session_id_idx', 'index for Clerk session revocation');
select has_index('sessionguard', 'families', 'families_revoked_at_idx', 'index for purging ended families');
select has_index('sessionguard', 'families', 'families_expires_at_idx', 'index for purging expired families');
select has_index('sessionguard', 'events', 'events_user_id_created_at_idx', 'index for a user''s events');

select has_trigger('sessionguard', 'families', 'families_guard_update', 'update guard trigger');
select has_trigger('sessionguard', 'families', 'families_record_start', 'start event trigger');
select has_trigger('sessionguard', 'families', 'families_record_revocation', 'revocation event trigger');

select is(
  array(select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'sessionguard' and c.relkind in ('r', 'p') and not c.relrowsecurity),
  '{}'::text[], 'RLS is enabled on every table in sessionguard');

select is(
  array(select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'sessionguard' and c.relkind in ('r', 'p', 'i', 'v')
          and obj_description(c.oid, 'pg_class') is null),
  '{}'::text[], 'every table and index has a comment');

select is(
  array(select c.relname || '.' || a.attname from pg_attribute a
        join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'sessionguard' and c.relkind = 'r' and a.attnum > 0
          and not a.attisdropped and col_description(c.oid, a.attnum) is null),
  '{}'::text[], 'every column has a comment');

select is(
  array(select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'sessionguard' and obj_description(p.oid, 'pg_proc') is null),
  '{}'::text[], 'every function has a comment');

select ok(obj_description('sessionguard'::regnamespace, 'pg_namespace') is not null, 'the schema has a comment');

-- P5/P11: no column could hold a token, its hash or a MAC.
select is(
  array(select a.attname::text from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'sessionguard' and a.attnum > 0 and not a.attisdropped
          and a.attname ~* '(token|secret|mac|hash)'),
  '{}'::text[], 'no column stores token material');

-- The column rules of families live in its guard trigger (see …000110_table_triggers.sql
-- for why): an insert that breaks any one of them fails with 23514 naming that rule.
create function pg_temp.broken_rules() returns text[] language plpgsql as $$
declare
  v_rules text[] := '{}';
  v_rule text;
  v_bad record;
begin
  for v_bad in
    select * from (values
      ('',          'sess_ok', 'dev',              'ua',              0::bigint, interval '1 hour', interval '2 hours', null::text, null::text, null::text),
      ('u',         '',        'dev',              'ua',              0,         interval '1 hour', interval '2 hours', null, null, null),
      ('u',         'sess_ok', repeat('d', 201),   'ua',              0,         interval '1 hour', interval '2 hours', null, null, null),
      ('u',         'sess_ok', 'dev',              repeat('a', 1025), 0,         interval '1 hour', interval '2 hours', null, null, null),
      ('u',         'sess_ok', 'dev',              'ua',              -1,        interval '1 hour', interval '2 hours', null, null, null),
      ('u',         'sess_ok', 'dev',              'ua',              0,         interval '3 hours', interval '2 hours', null, null, null),
      ('u',         'sess_ok', 'dev',              'ua',              0,         interval '1 hour', interval '2 hours', 'signed_out', null, null),
      ('u',         'sess_ok', 'dev',              'ua',              0,         interval '1 hour', interval '2 hours', 'made_up', null, null),
      ('u',         'sess_ok', 'dev',              'ua',              0,         interval '1 hour', interval '2 hours', null, 'not-a-thumbprint', null),
      ('u',         'sess_ok', 'dev',              'ua',              0,         interval '1 hour', interval '2 hours', null, null, '')
    ) as t(user_id, clerk_session_id, device_name, user_agent, generation, idle, lifetime, reason, jkt, actor)
  loop
    begin
      insert into sessionguard.families (user_id, clerk_session_id, device_name, user_agent, generation,
        idle_expires_at, expires_at, revoked_at, revoked_reason, dpop_jkt, actor_id)
      values (v_bad.user_id, v_bad.clerk_session_id, v_bad.device_name, v_bad.user_agent, v_bad.generation,
        now() + v_bad.idle, now() + v_bad.lifetime,
        case when v_bad.reason is null or v_bad.reason = 'signed_out' then null else now() end,
        v_bad.reason, v_bad.jkt, v_bad.actor);
      v_rules := v_rules || 'accepted'::text;
    exception when check_violation then
      get stacked diagnostics v_rule = constraint_name;
      v_rules := v_rules || v_rule;
    end;
  end loop;
  return v_rules;
end;
$$;

select is(
  pg_temp.broken_rules(),
  array['families_user_id_check', 'families_clerk_session_id_check', 'families_device_name_check',
        'families_user_agent_check', 'families_generation_check', 'families_lifetime_check',
        'families_revoked_check', 'families_revoked_reason_check', 'families_dpop_jkt_check',
        'families_actor_id_check'],
  'families refuses a row breaking any of its ten named rules, naming the rule');

select has_trigger('sessionguard', 'families', 'families_guard_insert', 'insert guard trigger');

select * from finish();
rollback;
