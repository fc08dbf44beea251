-- P7 on Storage: the example bucket's policies on storage.objects (examples/surfaces)
-- let a live session read and write its own files, and from the very next statement
-- after the session is revoked, expires or goes idle, Storage finds nothing and may
-- write nothing, though the access token is still valid. Statements run as Storage
-- runs them (supabase/tests/stand-ins/storage.psql cites how).
begin;
\ir ../../../examples/notes/supabase/tests/sessionguard_test_helpers.psql
\ir ../stand-ins/storage.psql
\ir ../../../examples/surfaces/supabase/migrations/20261207120000_private_files_bucket.sql
select plan(22);

select 'user_st_alice_' || md5(random()::text) as alice_id, 'user_st_bob_' || md5(random()::text) as bob_id \gset
select sessionguard_test.create_session(:'alice_id', 'Laptop') as alice \gset
select sessionguard_test.create_session(:'alice_id', 'Phone') as alice_phone \gset
select sessionguard_test.create_session(:'alice_id', 'Tablet') as alice_tablet \gset
select sessionguard_test.create_session(:'alice_id', 'Old laptop') as alice_old \gset
select sessionguard_test.create_session(:'bob_id') as bob \gset
select sessionguard_test.access_token_claims(:'alice') as c_alice,
       sessionguard_test.access_token_claims(:'alice_phone') as c_phone,
       sessionguard_test.access_token_claims(:'alice_tablet') as c_tablet,
       sessionguard_test.access_token_claims(:'alice_old') as c_old,
       sessionguard_test.access_token_claims(:'bob') as c_bob \gset
-- Storage copies the whole verified payload into request.jwt.claims, whatever it holds.
select (:'c_alice'::jsonb || '{"cnf":{"jkt":"x"},"extra":[1,2]}') as c_alice_full \gset

-- Fixtures as the table owner (RLS does not apply to it): one file of Bob's.
insert into storage.objects (bucket_id, name, owner)
values ('private-files', :'bob_id' || '/bob.txt', :'bob_id');

select is((select count(*)::int from pg_policies
           where schemaname = 'storage' and tablename = 'objects' and policyname like 'private-files:%'
             and coalesce(qual, '') || coalesce(with_check, '') like '%sessionguard.session_active()%'),
  4, 'every policy of the bucket (select, insert, update, delete) asks for a live session');

-- A live session uploads, lists, downloads, overwrites its own files.
select is(storage_test.as_storage_request(:'c_alice',
  format($$insert into storage.objects (bucket_id, name, owner) values ('private-files', %L, %L)$$,
         :'alice_id' || '/avatar.png', :'alice_id'), 'object.put'),
  1::bigint, 'a live session uploads into its own folder');
select is(storage_test.as_storage_request(:'c_alice',
  format($$insert into storage.objects (bucket_id, name, owner) values ('private-files', %L, %L)$$,
         :'alice_id' || '/notes/a.txt', :'alice_id'), 'object.put'),
  1::bigint, 'a live session uploads into a subfolder of its own folder');
select is(storage_test.as_storage_request(:'c_alice',
  format($$select count(*) from storage.objects where bucket_id = 'private-files' and name = %L$$,
         :'alice_id' || '/avatar.png')),
  1::bigint, 'a live session downloads its own file');
select is(storage_test.as_storage_request(:'c_alice',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  2::bigint, 'a live session lists exactly its own files, not Bob''s');
select is(storage_test.as_storage_request(:'c_alice_full',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  2::bigint, 'the helper reads the claims as Storage sets them (the whole payload, extra claims too)');
select is(storage_test.as_storage_request(:'c_alice',
  format($$update storage.objects set metadata = '{"size": 2}' where bucket_id = 'private-files' and name = %L$$,
         :'alice_id' || '/avatar.png'), 'object.put'),
  1::bigint, 'a live session overwrites its own file (upsert)');
select throws_ok(format('select storage_test.as_storage_request(%L, %L, %L)', :'c_alice',
  format($$insert into storage.objects (bucket_id, name, owner) values ('private-files', %L, %L)$$,
         :'bob_id' || '/planted.txt', :'alice_id'), 'object.put'),
  '42501', null, 'a live session cannot upload into another user''s folder');
select is(storage_test.as_storage_request(:'c_alice',
  format($$delete from storage.objects where bucket_id = 'private-files' and name = %L$$, :'bob_id' || '/bob.txt'),
  'object.delete'),
  0::bigint, 'a live session cannot delete another user''s file');

-- Revoked: the very next statement of every kind gets nothing.
select sessionguard_test.revoke_session(:'alice');
select is(storage_test.as_storage_request(:'c_alice',
  format($$select count(*) from storage.objects where bucket_id = 'private-files' and name = %L$$,
         :'alice_id' || '/avatar.png')),
  0::bigint, 'revoked: the very next download finds nothing');
select is(storage_test.as_storage_request(:'c_alice',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  0::bigint, 'revoked: listing finds nothing');
select throws_ok(format('select storage_test.as_storage_request(%L, %L, %L)', :'c_alice',
  format($$insert into storage.objects (bucket_id, name, owner) values ('private-files', %L, %L)$$,
         :'alice_id' || '/after.txt', :'alice_id'), 'object.put'),
  '42501', null, 'revoked: an upload is refused');
select is(storage_test.as_storage_request(:'c_alice',
  format($$update storage.objects set metadata = '{"size": 3}' where bucket_id = 'private-files' and name = %L$$,
         :'alice_id' || '/avatar.png'), 'object.put'),
  0::bigint, 'revoked: an overwrite changes nothing');
select is(storage_test.as_storage_request(:'c_alice',
  format($$delete from storage.objects where bucket_id = 'private-files' and name = %L$$, :'alice_id' || '/avatar.png'),
  'object.delete'),
  0::bigint, 'revoked: a delete removes nothing');
select is((select metadata from storage.objects where name = :'alice_id' || '/avatar.png'), '{"size": 2}'::jsonb,
  'the file is as the live session left it');

-- Another live session of the same user keeps working; expired and idle ones do not.
select is(storage_test.as_storage_request(:'c_phone',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  2::bigint, 'another live session of the same user still lists its files');
select sessionguard_test.expire_session(:'alice_tablet');
select is(storage_test.as_storage_request(:'c_tablet',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  0::bigint, 'expired: the very next listing finds nothing');
select sessionguard_test.idle_session(:'alice_old');
select is(storage_test.as_storage_request(:'c_old',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  0::bigint, 'idle-timed-out: the very next listing finds nothing');

-- Forged or foreign identities.
select is(storage_test.as_storage_request(jsonb_set(:'c_phone'::jsonb, '{sub}', to_jsonb(:'bob_id'::text)),
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  0::bigint, 'a live sid under another user''s sub sees nothing');
select is(storage_test.as_storage_request(:'c_bob',
  $$select count(*) from storage.objects where bucket_id = 'private-files'$$, 'object.list'),
  1::bigint, 'Bob''s live session sees only Bob''s file');
select is(storage_test.as_storage_request('{"role":"anon"}',
  $$select count(*) from storage.objects$$, 'object.list'),
  0::bigint, 'the anon key sees nothing');

-- Once per statement, not per file.
create function pg_temp.plan_of(p_claims text, p_query text) returns text
language plpgsql as $$
declare line text; result text := '';
begin
  perform set_config('request.jwt.claims', p_claims, true);
  set local role authenticated;
  for line in execute 'explain (costs off) ' || p_query loop
    result := result || line || E'\n';
  end loop;
  reset role;
  return result;
end;
$$;
select matches(pg_temp.plan_of(:'c_phone', $$select * from storage.objects where bucket_id = 'private-files'$$),
  '(InitPlan.*){2}', 'the helpers run as init plans, once per statement, not once per file');

select * from finish();
rollback;
