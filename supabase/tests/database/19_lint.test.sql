-- sessionguard.lint() finds each planted way of leaving a surface open after revocation,
-- and nothing in the examples (notes table, private bucket, private channels), which call
-- the helper everywhere.
begin;
\ir ../stand-ins/storage.psql
\ir ../stand-ins/realtime.psql
select to_regclass('public.notes') is null as sg_lint_needs_notes \gset
\if :sg_lint_needs_notes
\ir ../../../examples/notes/supabase/migrations/20261130120000_create_notes.sql
\endif
\ir ../../../examples/surfaces/supabase/migrations/20261207120000_private_files_bucket.sql
\ir ../../../examples/surfaces/supabase/migrations/20261207120100_private_user_channel.sql
\ir ../../../examples/surfaces/supabase/migrations/20261207120200_session_events_channel.sql
select plan(18);

-- Only what this test planted or applied: the database may hold other apps' policies.
create function pg_temp.lints(p_hook boolean default false, p_schemas text[] default array['public', 'graphql_public'])
returns setof text language sql as $$
  select code || ' ' || object from sessionguard.lint(p_schemas, p_hook)
  where object ~ '(sg_lint|notes|private-files|user channel|sessionguard events)'
  order by 1;
$$;

select is_empty($$ select * from pg_temp.lints() $$,
  'the examples (notes, private-files bucket, user channel, session events channel) leave nothing open');

-- Planted mistakes.
create table public.sg_lint_open (id int, owner_id text);
alter table public.sg_lint_open enable row level security;
create policy sg_lint_open_read on public.sg_lint_open for select to authenticated
  using (owner_id = (select sessionguard.user_id()));
-- A policy that only mentions the helper in a string does not call it.
create policy sg_lint_open_string on public.sg_lint_open for update to authenticated
  using (owner_id <> 'sessionguard.session_active()');
-- No `to`: the policy is for public, so for authenticated too.
create policy sg_lint_open_public on public.sg_lint_open for delete
  using (owner_id = (select sessionguard.user_id()));
create policy sg_lint_anon_only on public.sg_lint_open for insert to anon with check (false);

create table public.sg_lint_covered (id int, owner_id text);
alter table public.sg_lint_covered enable row level security;
create policy sg_lint_covered_read on public.sg_lint_covered for select to authenticated
  using (owner_id = (select sessionguard.user_id()));
create policy sg_lint_covered_write on public.sg_lint_covered for update to authenticated
  using (owner_id = (select sessionguard.user_id()));
create policy sg_lint_covered_live on public.sg_lint_covered as restrictive for select to authenticated
  using ((select sessionguard.session_active()));

create schema sg_lint_private;
create table sg_lint_private.t (id int);
alter table sg_lint_private.t enable row level security;
create policy sg_lint_private_read on sg_lint_private.t for select to authenticated using (true);

create table public.sg_lint_uid (id int, owner uuid);
alter table public.sg_lint_uid enable row level security;
create policy sg_lint_uid_read on public.sg_lint_uid for select to authenticated
  using (owner = auth.uid() and (select sessionguard.session_active()));

create policy "sg_lint bucket read" on storage.objects for select to authenticated
  using (bucket_id = 'sg-lint' and (storage.foldername(name))[1] = (select sessionguard.user_id()));
create policy "sg_lint channel read" on realtime.messages for select to authenticated
  using ((select realtime.topic()) = 'room:' || (select sessionguard.user_id()));

select ok('SG001 public.sg_lint_open policy sg_lint_open_read' in (select * from pg_temp.lints()),
  'SG001: a policy for authenticated without the helper, hook off');
select ok('SG001 public.sg_lint_open policy sg_lint_open_string' in (select * from pg_temp.lints()),
  'SG001: a string that mentions the helper is not a call of it');
select ok('SG001 public.sg_lint_open policy sg_lint_open_public' in (select * from pg_temp.lints()),
  'SG001: a policy for public applies to authenticated');
select ok('SG001 public.sg_lint_open policy sg_lint_anon_only' not in (select * from pg_temp.lints()),
  'a policy for anon only is not a session''s');
select ok('SG001 public.sg_lint_covered policy sg_lint_covered_read' not in (select * from pg_temp.lints()),
  'a restrictive policy that asks covers the permissive ones of its command');
select ok('SG001 public.sg_lint_covered policy sg_lint_covered_write' in (select * from pg_temp.lints()),
  'but not those of another command');
select ok('SG001 sg_lint_private.t policy sg_lint_private_read' not in (select * from pg_temp.lints()),
  'a schema the Data API does not expose is not SG001''s');
select ok('SG001 sg_lint_private.t policy sg_lint_private_read' in
  (select * from pg_temp.lints(false, array['public', 'sg_lint_private'])),
  'unless it is named as exposed');
select ok('SG002 storage.objects policy "sg_lint bucket read"' in (select * from pg_temp.lints()),
  'SG002: a storage.objects policy without the helper');
select ok('SG003 realtime.messages policy "sg_lint channel read"' in (select * from pg_temp.lints()),
  'SG003: a realtime.messages policy without the helper');
select ok('SG004 public.sg_lint_uid policy sg_lint_uid_read' in (select * from pg_temp.lints()),
  'SG004: a policy on auth.uid(), even one that also asks for a live session');

-- With the pre-request hook on, the Data API's policies are covered; Storage and Realtime are not.
select is((select count(*)::int from pg_temp.lints(true) l where l like 'SG001 %'), 0,
  'with the hook on there is no SG001');
select is((select count(*)::int from pg_temp.lints(true) l where l ~ '^SG00[234] '), 3,
  'but SG002, SG003 and SG004 remain');
-- Reading the hook from the role needs a role that may set it (a superuser, on plain
-- PostgreSQL 15: a custom setting on another role); where the test's role may not, skip.
create function pg_temp.try_set_hook() returns boolean language plpgsql as $$
begin
  execute $q$alter role authenticator set pgrst.db_pre_request = 'sessionguard.check_request'$q$;
  return true;
exception when insufficient_privilege then
  return false;
end;
$$;
select pg_temp.try_set_hook() as sg_lint_hook_set \gset
\if :sg_lint_hook_set
select is((select count(*)::int from pg_temp.lints(null) l where l like 'SG001 %'), 0,
  'the hook is read from the authenticator role''s settings');
alter role authenticator reset pgrst.db_pre_request;
select ok((select count(*)::int from pg_temp.lints(null) l where l like 'SG001 %') > 0,
  'and its absence too');
\else
select skip('this role may not set pgrst.db_pre_request on authenticator', 2);
\endif

select is_empty($$ select * from sessionguard.lint() where coalesce(fix, '') = '' or coalesce(detail, '') = '' $$,
  'every lint says what is wrong and how to fix it');
select ok(not has_function_privilege('authenticated', 'sessionguard.lint(text[], boolean)', 'execute')
  and not has_function_privilege('anon', 'sessionguard.lint(text[], boolean)', 'execute'),
  'neither anon nor authenticated may run the lint');

select * from finish();
rollback;
