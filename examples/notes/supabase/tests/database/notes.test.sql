-- Policy tests for public.notes: a session sees its user's notes while it is live and
-- nothing from the very next statement after it is revoked, expires or goes idle; another
-- user and the anon key see nothing; the opt-in pre-request hook refuses a dead session.
-- The pattern to copy for your own tables (see examples/notes/README.md).
begin;
\ir ../sessionguard_test_helpers.psql
select plan(24);

-- Fixtures, as the test's own role (the table owner: RLS does not apply to it). User ids
-- unique to this run, so that rows already in the database cannot change the counts.
select 'user_alice_' || md5(random()::text) as alice_id, 'user_bob_' || md5(random()::text) as bob_id \gset
insert into public.notes (owner_id, body) values
  (:'alice_id', 'alice 1'), (:'alice_id', 'alice 2'), (:'alice_id', 'alice 3'),
  (:'bob_id', 'bob 1'), (:'bob_id', 'bob 2');

select sessionguard_test.create_session(:'alice_id', 'Laptop') as alice \gset
select sessionguard_test.create_session(:'alice_id', 'Phone') as alice_phone \gset
select sessionguard_test.create_session(:'alice_id', 'Tablet') as alice_tablet \gset
select sessionguard_test.create_session(:'alice_id', 'Old laptop') as alice_old \gset
select sessionguard_test.create_session(:'bob_id') as bob \gset

-- The policies themselves.
select ok((select relrowsecurity from pg_class where oid = 'public.notes'::regclass),
  'RLS is enabled on public.notes');
select is((select count(*)::int from pg_policies
           where schemaname = 'public' and tablename = 'notes'
             and coalesce(qual, '') || coalesce(with_check, '') like '%sessionguard.session_active()%'),
  4, 'every notes policy (select, insert, update, delete) asks for a live session');

-- A live session sees its user's rows and can write its own.
select sessionguard_test.authenticate_as(:'alice');
select results_eq('select body from public.notes order by id',
  array['alice 1', 'alice 2', 'alice 3'], 'a live session sees exactly its user''s notes');
select lives_ok($$ insert into public.notes (body) values ('alice 4') $$,
  'a live session adds a note');
select is((select owner_id from public.notes where body = 'alice 4'), :'alice_id',
  'the new note belongs to the session''s user');
select throws_ok(format('insert into public.notes (owner_id, body) values (%L, %L)', :'bob_id', 'planted'),
  '42501', null, 'a live session cannot add a note for another user');
update public.notes set body = 'defaced' where owner_id = :'bob_id';
delete from public.notes where owner_id = :'bob_id';
select sessionguard_test.clear_authentication();
select results_eq(format('select body from public.notes where owner_id = %L order by id', :'bob_id'),
  array['bob 1', 'bob 2'], 'another user''s notes are neither changed nor deleted by a live session');

-- Another user, and the anon key, see none of them.
select sessionguard_test.authenticate_as(:'bob');
select results_eq('select body from public.notes order by id', array['bob 1', 'bob 2'],
  'another user sees only their own notes');
select sessionguard_test.authenticate_as_anon();
select throws_ok('select count(*) from public.notes', '42501', null,
  'the anon key cannot read notes at all');
select sessionguard_test.clear_authentication();

-- Revoked: the same session, the very next statement.
select sessionguard_test.authenticate_as(:'alice_phone');
select is((select count(*)::int from public.notes), 4, 'revoke: live before');
select sessionguard_test.revoke_session(:'alice_phone');
select is((select count(*)::int from public.notes), 0, 'revoke: the next statement sees nothing');
select throws_ok($$ insert into public.notes (body) values ('after revoke') $$,
  '42501', null, 'revoke: the session can no longer write');

-- Expired (absolute lifetime over).
select sessionguard_test.authenticate_as(:'alice_tablet');
select is((select count(*)::int from public.notes), 4, 'expiry: live before');
select sessionguard_test.expire_session(:'alice_tablet');
select is((select count(*)::int from public.notes), 0, 'expiry: the next statement sees nothing');

-- Idle (no refresh within the idle timeout).
select sessionguard_test.authenticate_as(:'alice_old');
select is((select count(*)::int from public.notes), 4, 'idle: live before');
select sessionguard_test.idle_session(:'alice_old');
select is((select count(*)::int from public.notes), 0, 'idle: the next statement sees nothing');
select throws_ok($$ insert into public.notes (body) values ('after idle') $$,
  '42501', null, 'idle: the session can no longer write');

-- Ending one session leaves the user's other sessions alone.
select sessionguard_test.authenticate_as(:'alice');
select is((select count(*)::int from public.notes), 4, 'the user''s other live session still sees its notes');
update public.notes set body = 'alice 1 edited' where body = 'alice 1';
select is((select body from public.notes order by id limit 1), 'alice 1 edited',
  'and can still edit them');

-- The opt-in pre-request hook, run as PostgREST runs it: after the role and claims are set.
select lives_ok('select sessionguard.check_request()', 'pre-request hook: a live session passes');
select sessionguard_test.authenticate_as(:'alice_phone');
select throws_ok('select sessionguard.check_request()', 'PGRST', null,
  'pre-request hook: a revoked session is refused');
select throws_like('select sessionguard.check_request()', '%session_revoked%',
  'pre-request hook: the refusal names session_revoked');
select sessionguard_test.authenticate_as(:'alice_tablet');
select throws_ok('select sessionguard.check_request()', 'PGRST', null,
  'pre-request hook: an expired session is refused');
select sessionguard_test.authenticate_as(:'alice_old');
select throws_ok('select sessionguard.check_request()', 'PGRST', null,
  'pre-request hook: an idle session is refused');
select sessionguard_test.clear_authentication();

select * from finish();
rollback;
