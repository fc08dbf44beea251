-- sessionguard: what the database stores (schema, tables, indexes), and who may read it.
--
-- MIGRATIONS ARE APPEND-ONLY FROM HERE ON. Before 0.1.0 shipped they were regrouped
-- once by concern (README, "The database schema"). From now on a change is a new
-- migration: never edit one that may have been applied.
--
-- A "family" is one signed-in device: it starts when a Clerk session token is exchanged
-- at /start and lives through every refresh-token rotation until it is revoked or
-- expires. Refresh tokens are `<key id>.<family id>.<generation>.<mac>`; the MAC secret
-- lives only in the edge function's secrets, so this schema stores no token material at
-- all: a dump of it mints nothing (P5). One row per family, updated in place on every
-- rotation, keeps storage O(1) per family (P6).

-- ---------------------------------------------------------------------------------------
-- schema
-- ---------------------------------------------------------------------------------------

-- Internal schema: not listed in the Data API's exposed schemas, so PostgREST never
-- serves it. API roles get usage only so that RLS helpers in it can be called.
create schema if not exists sessionguard;
comment on schema sessionguard is
  'sessionguard: rotating, theft-detecting sessions for Clerk + Supabase. Internal; not exposed by the Data API.';

revoke all on schema sessionguard from public;

/*
 * PostgreSQL gives every new function EXECUTE to PUBLIC. `alter default privileges in
 * schema ... revoke` cannot take that away: per-schema defaults only add to the global
 * ones. So the role that applies these migrations (`postgres` on Supabase, which may
 * change its own defaults without being a superuser) drops the global grant, and then
 * gives it back in `public` and `extensions`, so that functions an app or an extension
 * creates there behave as before. A function added to `sessionguard` later is then
 * executable only by its owner until a migration grants it. Functions this role creates
 * in any other schema are affected too: they need an explicit grant (see README).
 */
alter default privileges revoke execute on functions from public;
alter default privileges in schema public grant execute on functions to public;
do $$
begin
  if to_regnamespace('extensions') is not null then
    execute 'alter default privileges in schema extensions grant execute on functions to public';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------

create table sessionguard.families (
  id uuid not null default gen_random_uuid(),
  user_id text not null,
  clerk_session_id text,
  device_name text,
  user_agent text,
  ip inet,
  generation bigint not null default 0,
  rotated_at timestamptz,
  created_at timestamptz not null default now(),
  last_active_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  dpop_jkt text,
  actor_id text,
  constraint families_pkey primary key (id)
) with (fillfactor = 80);
-- fillfactor leaves room on each page so that a rotation, which changes no indexed
-- column, is a HOT update: the row is rewritten in place and no index grows.
--
-- The column rules (lengths, the lifetime order, a reason for every revocation, ...)
-- are kept by the guard trigger (next migration), not by CHECK constraints: see why there.

comment on table sessionguard.families is
  'One row per signed-in device (a refresh-token family). Rotations update the row in place; no token material is stored.';
comment on column sessionguard.families.id is 'Family id; the `sid` claim of access tokens and the session id users see.';
comment on column sessionguard.families.user_id is 'Clerk user id (text, e.g. user_2abc...), the `sub` claim.';
comment on column sessionguard.families.clerk_session_id is 'Clerk session id (sess_...) the family was started from; Clerk webhooks revoke by it.';
comment on column sessionguard.families.device_name is 'Name the client gave the device at start, shown to the user.';
comment on column sessionguard.families.user_agent is 'User agent of the latest start or refresh.';
comment on column sessionguard.families.ip is 'Client IP of the latest start or refresh.';
comment on column sessionguard.families.generation is 'Number of the only refresh token that may rotate now; moves forward by exactly one per rotation.';
comment on column sessionguard.families.rotated_at is 'Time of the latest rotation; the reuse grace window is measured from it.';
comment on column sessionguard.families.created_at is 'Start of the session.';
comment on column sessionguard.families.last_active_at is 'Time of the latest start or refresh.';
comment on column sessionguard.families.idle_expires_at is 'The session ends if not refreshed before this time (idle timeout).';
comment on column sessionguard.families.expires_at is 'Absolute end of the session, however active.';
comment on column sessionguard.families.revoked_at is 'When the session was ended; null while it may still be live.';
comment on column sessionguard.families.revoked_reason is 'Why the session was ended; the security event type written for it.';
comment on column sessionguard.families.dpop_jkt is 'RFC 7638 thumbprint of the DPoP key the family is bound to, if any.';
comment on column sessionguard.families.actor_id is
  'Clerk user id of whoever started this session on the user''s behalf (the Clerk token''s act.sub, impersonation); null for the user''s own.';

create table sessionguard.events (
  id bigint generated always as identity,
  user_id text not null,
  session_id uuid,
  type text not null,
  ip inet,
  user_agent text,
  description text not null,
  created_at timestamptz not null default now(),
  actor_id text,
  constraint events_pkey primary key (id),
  constraint events_user_id_check check (length(user_id) between 1 and 255),
  constraint events_user_agent_check check (length(user_agent) <= 1024),
  constraint events_actor_id_check check (length(actor_id) between 1 and 255),
  constraint events_type_check check (type in (
    'session_started', 'signed_out', 'session_revoked', 'refresh_token_reused',
    'session_expired', 'clerk_session_ended', 'user_deleted', 'dpop_key_mismatch',
    'clerk_revoke_failed'))
);

comment on table sessionguard.events is
  'Security events of a user''s sessions, for the user to read (GET /events) and for audit.';
comment on column sessionguard.events.id is 'Event id, increasing.';
comment on column sessionguard.events.user_id is 'Clerk user id the event concerns.';
comment on column sessionguard.events.session_id is 'Family the event concerns; kept after the family is purged.';
comment on column sessionguard.events.type is 'What happened; one of a closed set.';
comment on column sessionguard.events.ip is 'Client IP of the request that caused the event, if any.';
comment on column sessionguard.events.user_agent is 'User agent of the request that caused the event, if any.';
comment on column sessionguard.events.description is 'A sentence a user understands.';
comment on column sessionguard.events.created_at is 'When it happened.';
comment on column sessionguard.events.actor_id is
  'For a session started by impersonation, the Clerk user id of the impersonator; null otherwise.';

-- A Clerk session token stays valid for up to 60 s after Clerk ends the session, so the
-- end is remembered and /start refuses such tokens.
create table sessionguard.clerk_endings (
  kind text not null,
  clerk_id text not null,
  ended_at timestamptz not null,
  constraint clerk_endings_pkey primary key (kind, clerk_id),
  constraint clerk_endings_kind_check check (kind in ('session', 'user')),
  constraint clerk_endings_clerk_id_check check (length(clerk_id) between 1 and 255)
);
comment on table sessionguard.clerk_endings is
  'Clerk sessions that ended and users that were deleted (from Clerk webhooks); /start refuses their tokens.';
comment on column sessionguard.clerk_endings.kind is 'session (a Clerk session id) or user (a Clerk user id).';
comment on column sessionguard.clerk_endings.clerk_id is 'The Clerk session or user id.';
comment on column sessionguard.clerk_endings.ended_at is 'When Clerk reported the end.';

create table sessionguard.webhook_deliveries (
  id text not null,
  event_type text not null,
  received_at timestamptz not null,
  constraint webhook_deliveries_pkey primary key (id),
  constraint webhook_deliveries_id_check check (length(id) between 1 and 255),
  constraint webhook_deliveries_event_type_check check (length(event_type) between 1 and 255)
);
comment on table sessionguard.webhook_deliveries is
  'Clerk webhook deliveries already applied, by svix-id, so that a replay acts only once.';
comment on column sessionguard.webhook_deliveries.id is 'The svix-id header of the delivery.';
comment on column sessionguard.webhook_deliveries.event_type is 'The Clerk event type it carried.';
comment on column sessionguard.webhook_deliveries.received_at is 'When it was applied.';

-- Unlogged: a counter lost in a crash only forgives a few requests, and skipping the
-- WAL keeps the per-request write cheap.
create unlogged table sessionguard.rate_limits (
  key text not null,
  window_start timestamptz not null,
  hits integer not null,
  constraint rate_limits_pkey primary key (key),
  constraint rate_limits_key_check check (length(key) between 1 and 300),
  constraint rate_limits_hits_check check (hits >= 0)
);
comment on table sessionguard.rate_limits is
  'Fixed-window request counters for /start and /refresh, per client ip and per family or user.';
comment on column sessionguard.rate_limits.key is 'What is counted, e.g. refresh:ip:203.0.113.7 or refresh:family:<uuid>.';
comment on column sessionguard.rate_limits.window_start is 'Start of the current window.';
comment on column sessionguard.rate_limits.hits is 'Requests counted in the current window.';

create table sessionguard.dpop_proofs (
  jkt text not null,
  jti text not null,
  expires_at timestamptz not null,
  constraint dpop_proofs_pkey primary key (jkt, jti),
  constraint dpop_proofs_jkt_check check (jkt ~ '^[A-Za-z0-9_-]{43}$'),
  constraint dpop_proofs_jti_check check (length(jti) between 1 and 255)
);
comment on table sessionguard.dpop_proofs is
  'DPoP proof ids already used, per key, kept until the proof could no longer be accepted.';
comment on column sessionguard.dpop_proofs.jkt is 'RFC 7638 thumbprint of the key that signed the proof.';
comment on column sessionguard.dpop_proofs.jti is 'The proof''s jti.';
comment on column sessionguard.dpop_proofs.expires_at is 'After this the proof''s iat is out of the window anyway.';

/*
 * purge_expired finds idle sessions by sweeping the live families in id order, a bounded
 * range per call (idle_expires_at moves on every rotation, so it has no index: one would
 * make every rotation a non-HOT update). This is where the sweep stopped.
 */
create table sessionguard.purge_cursors (
  name text not null,
  last_id uuid,
  constraint purge_cursors_pkey primary key (name),
  constraint purge_cursors_name_check check (name in ('idle_families'))
);
comment on table sessionguard.purge_cursors is
  'Where each bounded sweep of purge_expired stopped; the next call continues after it.';
comment on column sessionguard.purge_cursors.name is 'Which sweep (idle_families).';
comment on column sessionguard.purge_cursors.last_id is 'Last family id the sweep looked at; null to start from the lowest id.';
insert into sessionguard.purge_cursors (name, last_id) values ('idle_families', null);

-- ---------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------

comment on index sessionguard.families_pkey is 'Families by id, live and ended: the answer for a token of an ended family (session_revoked), revocation, status.';
comment on index sessionguard.events_pkey is 'Events by id.';

/*
 * The live families by id: the lookup of every rotation and of the RLS helper, and the
 * order of purge's idle sweep. Ended families wait for purge (a day by default, longer
 * when purge falls behind) and may outnumber live ones many times; the primary key holds
 * them all, this index only the live ones, so what a refresh reads stays proportional to
 * the live sessions. A rotation does not change revoked_at, so it stays a HOT update.
 */
create index families_live_id_idx on sessionguard.families (id) where revoked_at is null;
comment on index sessionguard.families_live_id_idx is 'Live families by id: rotations, the RLS helper, the idle sweep.';

-- Live sessions of a user: listing, "sign out everywhere", user-scope theft response.
create index families_user_id_idx on sessionguard.families (user_id) where revoked_at is null;
comment on index sessionguard.families_user_id_idx is 'Live families of a user.';

-- Clerk webhooks revoke every family started from one Clerk session.
create index families_clerk_session_id_idx on sessionguard.families (clerk_session_id)
  where clerk_session_id is not null;
comment on index sessionguard.families_clerk_session_id_idx is 'Families by the Clerk session they started from.';

-- Purge finds families ended long ago. revoked_at is written once, so this index never
-- stops a rotation from being a HOT update.
create index families_revoked_at_idx on sessionguard.families (revoked_at) where revoked_at is not null;
comment on index sessionguard.families_revoked_at_idx is 'Ended families, oldest first, for purging.';

create index families_expires_at_idx on sessionguard.families (expires_at) where revoked_at is null;
comment on index sessionguard.families_expires_at_idx is 'Live families by absolute expiry, for purging.';

create index events_user_id_created_at_idx on sessionguard.events (user_id, created_at desc, id desc);
comment on index sessionguard.events_user_id_created_at_idx is 'A user''s events, newest first.';

create index events_created_at_idx on sessionguard.events (created_at);
comment on index sessionguard.events_created_at_idx is 'Events by age, for purging.';

comment on index sessionguard.purge_cursors_pkey is 'Sweep cursors by name.';
comment on index sessionguard.clerk_endings_pkey is 'Endings by kind and Clerk id: the lookup /start makes.';
create index clerk_endings_ended_at_idx on sessionguard.clerk_endings (ended_at);
comment on index sessionguard.clerk_endings_ended_at_idx is 'Endings by age, for purging.';

comment on index sessionguard.webhook_deliveries_pkey is 'Deliveries by svix-id: the replay check.';

create index webhook_deliveries_received_at_idx on sessionguard.webhook_deliveries (received_at);
comment on index sessionguard.webhook_deliveries_received_at_idx is 'Deliveries by age, for purging.';

comment on index sessionguard.rate_limits_pkey is 'Counters by key: the one lookup of a rate check.';
comment on index sessionguard.dpop_proofs_pkey is 'Proofs by key and jti: the replay check.';

create index rate_limits_window_start_idx on sessionguard.rate_limits (window_start);
comment on index sessionguard.rate_limits_window_start_idx is 'Counters by age, for purging.';

create index dpop_proofs_expires_at_idx on sessionguard.dpop_proofs (expires_at);
comment on index sessionguard.dpop_proofs_expires_at_idx is 'Proofs by expiry, for purging.';

-- ---------------------------------------------------------------------------------------
-- RLS policies and grants
-- ---------------------------------------------------------------------------------------

alter table sessionguard.families enable row level security;
alter table sessionguard.events enable row level security;
alter table sessionguard.clerk_endings enable row level security;
alter table sessionguard.purge_cursors enable row level security;
alter table sessionguard.webhook_deliveries enable row level security;
alter table sessionguard.rate_limits enable row level security;
alter table sessionguard.dpop_proofs enable row level security;
-- Only families and events have policies: no API role reads the other tables; only the
-- functions do.

-- sessionguard.user_id() is defined in the RLS helper migration; policies here compare
-- the row's owner with the request JWT's `sub` directly so this file stands alone.
create policy families_select_own on sessionguard.families
  for select to authenticated
  using (user_id = (select auth.jwt() ->> 'sub'));
comment on policy families_select_own on sessionguard.families is 'A user reads only their own sessions.';

create policy events_select_own on sessionguard.events
  for select to authenticated
  using (user_id = (select auth.jwt() ->> 'sub'));
comment on policy events_select_own on sessionguard.events is 'A user reads only their own security events.';

revoke all on sessionguard.families, sessionguard.events, sessionguard.clerk_endings,
  sessionguard.webhook_deliveries, sessionguard.rate_limits, sessionguard.dpop_proofs, sessionguard.purge_cursors
  from public, anon, authenticated, service_role;

-- Users may read what describes their sessions; generation, rotation time and key
-- binding stay out of reach of every API role.
grant usage on schema sessionguard to anon, authenticated, service_role;
grant select (id, user_id, device_name, user_agent, ip, created_at, last_active_at,
              idle_expires_at, expires_at, revoked_at, revoked_reason)
  on sessionguard.families to authenticated;
grant select on sessionguard.events to authenticated;
