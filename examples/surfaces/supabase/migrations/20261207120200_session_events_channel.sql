-- Example: the private Realtime topic `sessionguard:<Clerk user id>` on which sessionguard
-- announces each security event of the user as it is written (session_started,
-- session_revoked, refresh_token_reused, ...; docs/clerk-webhook.md, "Announcements"),
-- readable by that user's live sessions only. Copy it as a migration of your own (after
-- sessionguard's) so that a device learns at once that its session was revoked and closes
-- its channels, instead of receiving until its access token expires.
--
-- Realtime checks this policy when a channel is joined (and on token refresh), not for
-- each message: a device joined while its session was live still receives the broadcast
-- that announces the session's end. Asking for a live session keeps a revoked session
-- from joining again to go on listening to the user's events.
--
-- Read only: no insert policy names this topic, so no client can send on it (a forged
-- `session_revoked` would sign a device out). Keep it so: no other policy of yours may
-- allow inserts on topics starting with `sessionguard:`. The database sends the events
-- itself (realtime.send, as the migration's owner), which policies do not restrict.
-- Sections: RLS policies.

-- ---------------------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------------------

create policy "sessionguard events: the user's live sessions read"
  on realtime.messages for select to authenticated
  using (
    (select realtime.topic()) = 'sessionguard:' || (select sessionguard.user_id())
    and realtime.messages.extension = 'broadcast'
    and (select sessionguard.session_active())
  );
