-- Policy tests for organization notes (20261208120000_org_notes.sql): what a session sees
-- follows its active Clerk organization, read live from the session row. A member sees
-- org A's notes and none of B's; after switching to B the very next statement sees B's;
-- with no organization active only the user's personal notes. New notes land in the
-- active organization; a role downgrade or a removal takes effect on the next statement.
begin;
\ir ../sessionguard_test_helpers.psql
select plan(28);

-- Fixtures, as the table owner (RLS does not apply). Ids unique to this run.
select 'user_ada_' || md5(random()::text) as ada_id, 'user_bo_' || md5(random()::text) as bo_id,
       'org_a' || substr(md5(random()::text), 1, 12) as org_a, 'org_b' || substr(md5(random()::text), 1, 12) as org_b \gset
insert into public.notes (owner_id, org_id, body) values
  (:'ada_id', null, 'ada personal'),
  (:'ada_id', :'org_a', 'A: roadmap'), (:'bo_id', :'org_a', 'A: minutes'),
  (:'bo_id', :'org_b', 'B: budget'),
  (:'bo_id', null, 'bo personal');

select sessionguard_test.create_session(:'ada_id', 'Laptop') as ada \gset
select sessionguard_test.create_session(:'ada_id', 'Phone') as ada_phone \gset
select sessionguard_test.create_session(:'bo_id', 'Desktop') as bo \gset
select sessionguard_test.switch_organization(:'bo', :'org_a', 'org:admin');

-- The policies themselves.
select is((select count(*)::int from pg_policies
           where schemaname = 'public' and tablename = 'notes'
             and coalesce(qual, '') || coalesce(with_check, '') like '%sessionguard.org_id()%'),
  4, 'every notes policy (select, insert, update, delete) follows the active organization');
select is((select column_default from information_schema.columns
           where table_schema = 'public' and table_name = 'notes' and column_name = 'org_id'),
  'sessionguard.org_id()', 'a new note defaults to the session''s active organization');

-- No organization: personal notes only.
select sessionguard_test.authenticate_as(:'ada');
select results_eq('select body from public.notes order by id', array['ada personal'],
  'no organization active: only the user''s own personal notes');
select lives_ok($$ insert into public.notes (body) values ('ada personal 2') $$,
  'no organization active: a new note is personal');
select sessionguard_test.clear_authentication();
select is((select org_id from public.notes where body = 'ada personal 2'), null,
  'and has no organization');

-- Organization A: its notes, whoever wrote them; nothing personal, nothing of B.
select sessionguard_test.switch_organization(:'ada', :'org_a');
select sessionguard_test.authenticate_as(:'ada');
select results_eq('select body from public.notes order by id', array['A: roadmap', 'A: minutes'],
  'a member with organization A active sees A''s notes, its other members'' too');
select is((select count(*)::int from public.notes where org_id = :'org_b'), 0,
  'and none of organization B''s, even when asking for them by id');
select is((select count(*)::int from public.notes where org_id is null), 0,
  'and none of the personal notes, not even the user''s own');
select lives_ok($$ insert into public.notes (body) values ('A: new') $$, 'a member adds a note');
select is((select org_id from public.notes where body = 'A: new'), :'org_a',
  'the new note lands in the active organization');
select throws_ok(format('insert into public.notes (org_id, body) values (%L, %L)', :'org_b', 'planted'),
  '42501', null, 'a client cannot name another organization for its note');
select throws_ok(format('update public.notes set org_id = %L where body = %L', :'org_b', 'A: new'),
  '42501', null, 'nor move a note to another organization');
update public.notes set body = 'A: minutes (defaced)' where body = 'A: minutes';
delete from public.notes where body = 'A: minutes';
select is((select count(*)::int from public.notes where body = 'A: minutes'), 1,
  'a member neither edits nor deletes another member''s note');

-- Switching to B: the very next statement, the same session and access token.
select sessionguard_test.switch_organization(:'ada', :'org_b');
select results_eq('select body from public.notes order by id', array['B: budget'],
  'after switching to organization B the next statement sees B''s notes, and none of A''s');
select is((select count(*)::int from public.notes where org_id = :'org_a'), 0,
  'A''s notes are gone for this session, even asked for by id');
select sessionguard_test.authenticate_as(:'ada_phone');
select results_eq('select body from public.notes order by id', array['ada personal', 'ada personal 2'],
  'the user''s other session keeps its own organization (none: personal notes)');

-- And back: no organization again, personal notes only.
select sessionguard_test.authenticate_as(:'ada');
select sessionguard_test.switch_organization(:'ada', null);
select results_eq('select body from public.notes order by id', array['ada personal', 'ada personal 2'],
  'switching back to no organization shows the personal notes again');

-- An org:admin may delete a member's note; a member may not.
select sessionguard_test.switch_organization(:'ada', :'org_a');
delete from public.notes where body = 'A: minutes';
select is((select count(*)::int from public.notes where body = 'A: minutes'), 1,
  'a member cannot delete another member''s note');
select sessionguard_test.authenticate_as(:'bo');
delete from public.notes where body = 'A: new';
select is((select count(*)::int from public.notes where org_id = :'org_a'), 2,
  'an org:admin deletes a member''s note in the organization');
select sessionguard_test.switch_organization(:'bo', :'org_a', 'org:member');
delete from public.notes where body = 'A: roadmap';
select is((select count(*)::int from public.notes where body = 'A: roadmap'), 1,
  'after a downgrade to org:member, the next statement can no longer delete it');

-- Personal notes of another user stay out of reach in every context.
select sessionguard_test.switch_organization(:'bo', null);
select results_eq('select body from public.notes order by id', array['bo personal'],
  'another user with no organization sees only their own personal notes');

-- A removed membership (Clerk's webhook clears the organization) and a dead session.
select sessionguard_test.switch_organization(:'bo', :'org_a', 'org:member');
select is((select count(*)::int from public.notes), 2, 'membership: live before');
select sessionguard_test.clear_authentication();
select is((select changed from sessionguard.apply_clerk_org_event(
  p_delivery_id => 'msg_' || md5(random()::text), p_event_type => 'organizationMembership.deleted',
  p_org_id => :'org_a', p_user_id => :'bo_id', p_event_at => now())), 1,
  'Clerk''s organizationMembership.deleted webhook clears the organization from the session');
select sessionguard_test.authenticate_as(:'bo');
select results_eq('select body from public.notes order by id', array['bo personal'],
  'after the removal the next statement sees none of the organization''s notes');
select sessionguard_test.switch_organization(:'ada', :'org_a');
select sessionguard_test.authenticate_as(:'ada');
select is((select count(*)::int from public.notes), 2, 'revoke: live before');
select sessionguard_test.revoke_session(:'ada');
select is((select count(*)::int from public.notes), 0, 'revoke: the next statement sees no organization notes');
select throws_ok($$ insert into public.notes (body) values ('after revoke') $$,
  '42501', null, 'revoke: the session can no longer write to the organization');

-- The anon key sees nothing.
select sessionguard_test.authenticate_as_anon();
select throws_ok('select count(*) from public.notes', '42501', null, 'the anon key cannot read notes at all');
select sessionguard_test.clear_authentication();

select * from finish();
rollback;
