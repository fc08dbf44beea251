-- Structure: the schema, its tables, keys, indexes and triggers exist; RLS is on for
-- every table; every object says what it is.
begin;
set local search_path = extensions, public;
select plan(22);

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

select is(
  (select count(*)::int from pg_constraint where conrelid = 'sessionguard.families'::regclass and contype = 'c'),
  10, 'families carries its named check constraints');

select * from finish();
rollback;
