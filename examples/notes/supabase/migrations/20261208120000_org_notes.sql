-- Example: notes scoped by Clerk organization, on top of 20261130120000_create_notes.sql.
--
-- A note is personal (org_id null) or belongs to a Clerk organization. What a session
-- sees follows its ACTIVE organization, read live from the session row by sessionguard's
-- helpers (docs/organizations.md), never from the access token:
--
--   no organization active   the user's own personal notes
--   organization A active    A's notes, whoever wrote them; nothing personal, nothing of B
--
-- Switching organization in Clerk (<OrganizationSwitcher/>) reaches the session through
-- POST /claims, and the next statement sees the other organization's notes; a membership
-- removed by Clerk's webhook takes them away on the next statement too. A new note goes
-- to the active organization (the column's default), so the client never names one.
--
-- Writing: members add notes to the active organization and edit their own; an org:admin
-- may also delete other members' notes there (swap in has_org_permission('org:notes:delete')
-- once your instance defines such a permission). Every policy still asks for a live session.
--
-- Sections: tables, indexes, RLS policies, grants.

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

-- Existing notes stay personal (null); the default is evaluated per insert, as the caller.
alter table public.notes
  add column org_id text default sessionguard.org_id(),
  add constraint notes_org_id_check check (length(org_id) between 1 and 255);
comment on column public.notes.org_id is
  'Clerk organization (org_...) the note belongs to, or null for a personal note; defaults to the session''s active organization.';

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

create index notes_org_id_idx on public.notes (org_id) where org_id is not null;
comment on index public.notes_org_id_idx is 'An organization''s notes: what the policies filter by when one is active.';

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

-- The personal-only policies of the first migration would show personal notes in every
-- organization; these replace them. Written as an OR of two indexable arms (not
-- `is not distinct from`, which no index serves): the organization's notes, or the
-- user's personal ones while no organization is active. org_id() is null for a session
-- that is not live, so the first arm implies session_active(); the second asks for it.
drop policy notes_select_own on public.notes;
drop policy notes_insert_own on public.notes;
drop policy notes_update_own on public.notes;
drop policy notes_delete_own on public.notes;

create policy notes_select_scoped on public.notes
  for select to authenticated
  using ((select sessionguard.session_active())
         and (org_id = (select sessionguard.org_id())
              or (org_id is null and (select sessionguard.org_id()) is null
                  and owner_id = (select sessionguard.user_id()))));
comment on policy notes_select_scoped on public.notes is
  'A live session reads its active organization''s notes, or with none active its user''s personal notes.';

create policy notes_insert_scoped on public.notes
  for insert to authenticated
  with check ((select sessionguard.session_active())
              and owner_id = (select sessionguard.user_id())
              and (org_id = (select sessionguard.org_id())
                   or (org_id is null and (select sessionguard.org_id()) is null)));
comment on policy notes_insert_scoped on public.notes is
  'A live session adds its own notes, to its active organization (or personal with none active), never to another.';

create policy notes_update_scoped on public.notes
  for update to authenticated
  using ((select sessionguard.session_active())
         and owner_id = (select sessionguard.user_id())
         and (org_id = (select sessionguard.org_id())
              or (org_id is null and (select sessionguard.org_id()) is null)))
  with check ((select sessionguard.session_active())
              and owner_id = (select sessionguard.user_id())
              and (org_id = (select sessionguard.org_id())
                   or (org_id is null and (select sessionguard.org_id()) is null)));
comment on policy notes_update_scoped on public.notes is
  'A live session edits its own notes in the organization it has active (or its personal ones with none).';

create policy notes_delete_scoped on public.notes
  for delete to authenticated
  using ((select sessionguard.session_active())
         and ((org_id is null and (select sessionguard.org_id()) is null
               and owner_id = (select sessionguard.user_id()))
              or (org_id = (select sessionguard.org_id())
                  and (owner_id = (select sessionguard.user_id())
                       or (select sessionguard.org_role()) = 'org:admin'))));
comment on policy notes_delete_scoped on public.notes is
  'A live session deletes its own notes where it reads them; an org:admin also other members'' notes of the active organization.';

-- ---------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------

-- Unchanged: insert (owner_id, body) and update (body, updated_at). org_id is neither
-- insertable nor updatable, so a note lands in the active organization and stays there;
-- a client that names one gets 42501 (permission denied), whatever it names.
