-- Policies written for Supabase Auth's tokens, run against sessionguard's claims.
-- Supabase Auth signs `session_id`, `is_anonymous` and `aal` (supabase/auth
-- internal/tokens/service.go, AccessTokenClaims); sessionguard's tokens carry
-- session_id (= sid), is_anonymous false and aal "aal1" (functions/access-token.ts).
-- A policy reading them admits such a token and refuses one without them (what every
-- token minted before these claims looked like: a silent deny). A policy on auth.uid()
-- cannot work with Clerk ids: the cast to uuid fails the whole statement with 22P02.
begin;
set local search_path = extensions, public;
select plan(8);

create table public.sg_test_claims (
  id bigint generated always as identity primary key,
  owner_id text not null,
  body text not null
);
alter table public.sg_test_claims enable row level security;
-- Supabase's documented pattern for "signed-in, not anonymous" users.
create policy sg_test_claims_permanent on public.sg_test_claims as restrictive for select to authenticated
  using ((select (auth.jwt() ->> 'is_anonymous')::boolean) is false);
create policy sg_test_claims_own on public.sg_test_claims for select to authenticated
  using (owner_id = (select auth.jwt() ->> 'sub'));
grant select on public.sg_test_claims to authenticated;
insert into public.sg_test_claims (owner_id, body)
select 'user_claims', 'note ' || g from generate_series(1, 3) g;

create table public.sg_test_mfa (id int primary key, owner_id text not null);
alter table public.sg_test_mfa enable row level security;
create policy sg_test_mfa_aal2 on public.sg_test_mfa for select to authenticated
  using ((select auth.jwt() ->> 'aal') = 'aal2' and owner_id = (select auth.jwt() ->> 'sub'));
grant select on public.sg_test_mfa to authenticated;
insert into public.sg_test_mfa values (1, 'user_claims');

create table public.sg_test_uid (id int primary key, owner_id uuid not null);
alter table public.sg_test_uid enable row level security;
create policy sg_test_uid_own on public.sg_test_uid for select to authenticated
  using (owner_id = (select auth.uid()));
grant select on public.sg_test_uid to authenticated;
insert into public.sg_test_uid values (1, gen_random_uuid());

select set_config('t.sid', (select session_id::text from sessionguard.start_session(
  'user_claims', 'sess_claims', 'Laptop', null, null, 3600, 86400)), true);
-- The claims sessionguard signs, as PostgREST hands them to SQL.
select set_config('t.claims', json_build_object('sub', 'user_claims', 'role', 'authenticated',
  'aud', 'authenticated', 'sid', current_setting('t.sid'), 'session_id', current_setting('t.sid'),
  'is_anonymous', false, 'aal', 'aal1')::text, true);
select set_config('t.claims_old', json_build_object('sub', 'user_claims', 'role', 'authenticated',
  'sid', current_setting('t.sid'))::text, true);

create function pg_temp.as_user(p_claims text, p_query text) returns text
language plpgsql as $$
declare result text;
begin
  perform set_config('request.jwt.claims', p_claims, true);
  set local role authenticated;
  execute p_query into result;
  reset role;
  return result;
end;
$$;

select is(pg_temp.as_user(current_setting('t.claims'), 'select count(*) from public.sg_test_claims'), '3',
  'a policy on is_anonymous admits a sessionguard token');
select is(pg_temp.as_user(current_setting('t.claims_old'), 'select count(*) from public.sg_test_claims'), '0',
  'a token without is_anonymous is silently denied by the same policy');
select is(pg_temp.as_user(current_setting('t.claims'),
    'select count(*) from sessionguard.families where id = (auth.jwt() ->> ''session_id'')::uuid'), '1',
  'session_id names the caller''s session, as in a Supabase Auth token');
select is(pg_temp.as_user(current_setting('t.claims'), 'select auth.jwt() ->> ''session_id''') ,
  current_setting('t.sid'), 'session_id equals sid');
select is(pg_temp.as_user(current_setting('t.claims'), 'select count(*) from public.sg_test_mfa'), '0',
  'a policy that asks for aal2 refuses a sessionguard token (aal1: it proves no fresh second factor)');

select set_config('request.jwt.claims', current_setting('t.claims'), true);
set local role authenticated;
select throws_ok('select count(*) from public.sg_test_uid', '22P02', null,
  'a policy on auth.uid() fails the whole statement for a Clerk id (not a uuid)');
reset role;
select is(pg_temp.as_user(current_setting('t.claims'),
    'select count(*) from public.sg_test_claims where owner_id = (select sessionguard.user_id())'), '3',
  'sessionguard.user_id() (text) is the fix');
select is(pg_temp.as_user(current_setting('t.claims'), 'select sessionguard.session_active()::text'), 'true',
  'the new claims leave sessionguard''s own helpers as they were');

select * from finish();
rollback;
