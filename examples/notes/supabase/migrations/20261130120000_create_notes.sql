-- Example app table protected by sessionguard: each user's notes, readable and writable
-- only through a live session of that user.
--
-- Every policy asks two things, each once per statement (an init plan, `(select ...)`):
-- is the row the caller's (`sub`, a Clerk user id, so text and never auth.uid()), and is
-- the caller's sessionguard session still live (not revoked, expired or idle). A session
-- that ends loses access on the very next statement, whatever its access token says.
--
-- Apply after sessionguard's migrations (this file's timestamp sorts after them).
-- Sections: tables, indexes, RLS policies, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

create table public.notes (
  id bigint generated always as identity,
  owner_id text not null default sessionguard.user_id(),
  body text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint notes_pkey primary key (id),
  constraint notes_owner_id_check check (length(owner_id) between 1 and 255),
  constraint notes_body_check check (length(body) between 1 and 10000)
);
comment on table public.notes is 'Example: a user''s notes, visible only to a live session of that user.';
comment on column public.notes.owner_id is 'Clerk user id of the owner; defaults to the caller''s `sub`.';

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

create index notes_owner_id_idx on public.notes (owner_id);
comment on index public.notes_owner_id_idx is 'A user''s notes: what every policy filters by.';

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

alter table public.notes enable row level security;

create policy notes_select_own on public.notes
  for select to authenticated
  using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
comment on policy notes_select_own on public.notes is 'A live session reads its user''s notes.';

create policy notes_insert_own on public.notes
  for insert to authenticated
  with check (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
comment on policy notes_insert_own on public.notes is 'A live session adds notes for its own user only.';

create policy notes_update_own on public.notes
  for update to authenticated
  using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()))
  with check (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
comment on policy notes_update_own on public.notes is 'A live session edits its user''s notes, and cannot give them away.';

create policy notes_delete_own on public.notes
  for delete to authenticated
  using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
comment on policy notes_delete_own on public.notes is 'A live session deletes its user''s notes.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

-- Supabase's default privileges give anon and authenticated everything on new tables in
-- public; RLS would still hide the rows, but anon has no business here at all.
revoke all on table public.notes from anon, authenticated;
grant select, delete on table public.notes to authenticated;
grant insert (owner_id, body), update (body, updated_at) on table public.notes to authenticated;
