-- Example: a private Storage bucket whose files only a live sessionguard session reads
-- or writes. Copy it as a migration of your own (after sessionguard's).
--
-- Each user owns the folder named after their Clerk user id: `<user id>/avatar.png`.
-- The folder is the owner, not Storage's `owner` column: Storage fills that from `sub`,
-- and its older uuid type refuses a Clerk id (supabase/storage issue 758).
--
-- Storage runs these policies itself, in its own transaction, as the role of the
-- request's JWT with the verified claims in `request.jwt.claims` (supabase/storage
-- src/internal/database/connection.ts, TenantConnection.setScope), which is exactly what
-- sessionguard.session_active() reads. So a revoked, expired or idle session's very next
-- upload, download, list or delete finds nothing, however long its access token lives.
--
-- Every policy asks, once per statement (`(select ...)` makes each an init plan): the
-- bucket, the caller's folder, and a live session.
-- Sections: buckets, RLS policies.

-- ---------------------------------------------------------------------------------------
-- buckets
-- ---------------------------------------------------------------------------------------

insert into storage.buckets (id, name, public)
values ('private-files', 'private-files', false)
on conflict (id) do nothing;

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

-- Download, list, and the existence check Storage makes before an upsert.
create policy "private-files: live session reads own folder"
  on storage.objects for select to authenticated
  using (
    bucket_id = 'private-files'
    and (storage.foldername(name))[1] = (select sessionguard.user_id())
    and (select sessionguard.session_active())
  );

-- Upload.
create policy "private-files: live session uploads to own folder"
  on storage.objects for insert to authenticated
  with check (
    bucket_id = 'private-files'
    and (storage.foldername(name))[1] = (select sessionguard.user_id())
    and (select sessionguard.session_active())
  );

-- Overwrite (upsert) and move within the folder.
create policy "private-files: live session updates own folder"
  on storage.objects for update to authenticated
  using (
    bucket_id = 'private-files'
    and (storage.foldername(name))[1] = (select sessionguard.user_id())
    and (select sessionguard.session_active())
  )
  with check (
    bucket_id = 'private-files'
    and (storage.foldername(name))[1] = (select sessionguard.user_id())
    and (select sessionguard.session_active())
  );

-- Delete.
create policy "private-files: live session deletes own folder"
  on storage.objects for delete to authenticated
  using (
    bucket_id = 'private-files'
    and (storage.foldername(name))[1] = (select sessionguard.user_id())
    and (select sessionguard.session_active())
  );
