-- Example: a private Realtime channel per user, `user:<Clerk user id>`, that only a live
-- sessionguard session of that user may join, read or send on. Copy it as a migration of
-- your own (after sessionguard's); clients join with `{ config: { private: true } }`.
--
-- Realtime authorizes a private channel by running these policies in the database
-- (supabase/realtime lib/realtime/tenants/authorization.ex): as the token's role, with
-- the topic in `realtime.topic` and the verified claims in `request.jwt.claims`, it
-- selects (read) and inserts (write) throwaway rows of realtime.messages and rolls them
-- back. sessionguard.session_active() reads those claims, so a dead session cannot join,
-- and an open channel is closed the next time its token is refreshed (docs/surfaces.md
-- says exactly when Realtime asks).
--
-- The rows Realtime checks carry only topic and extension (`private` keeps its default),
-- so the policies look at those. Sections: RLS policies.

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

-- Receive broadcasts and presence on the user's own channel.
create policy "user channel: live session reads"
  on realtime.messages for select to authenticated
  using (
    (select realtime.topic()) = 'user:' || (select sessionguard.user_id())
    and realtime.messages.extension in ('broadcast', 'presence')
    and (select sessionguard.session_active())
  );

-- Send broadcasts and track presence on it.
create policy "user channel: live session writes"
  on realtime.messages for insert to authenticated
  with check (
    (select realtime.topic()) = 'user:' || (select sessionguard.user_id())
    and realtime.messages.extension in ('broadcast', 'presence')
    and (select sessionguard.session_active())
  );
