/*
 * Stand-in for Supabase Realtime's tables and functions in plain Postgres. NEVER deployed.
 *
 * Included by supabase/tests/stand-ins/realtime.psql (pgTAP, inside a test's transaction)
 * and applied by `npm start` (scripts/stack/realtime-tables.ts), each only when
 * realtime.messages is missing: on a real Supabase database Realtime owns the schema.
 *
 * Shaped like Realtime's tenant migrations (supabase/realtime,
 * lib/realtime/tenants/repo/migrations/):
 *   20260211000000_squash_migrations.ex  realtime.topic() = nullif(current_setting(
 *       'realtime.topic', true), ''); realtime.messages (topic, extension, payload, event,
 *       private default false, updated_at, inserted_at, id uuid, primary key (id,
 *       inserted_at)) partitioned by range (inserted_at); RLS enabled; select, insert,
 *       update granted to postgres, anon, authenticated, service_role
 *       realtime.send(payload, event, topic, private default true): sets realtime.topic
 *       locally, inserts a broadcast row (payload gets an `id`), turns any error into a
 *       warning
 *   20260604120000_add_messages_default_partition.ex  realtime.messages_default
 */
create schema realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create function realtime.topic() returns text language sql stable as $f$
  select nullif(current_setting('realtime.topic', true), '')::text;
$f$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

create table realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone default now() not null,
  inserted_at timestamp without time zone default now() not null,
  id uuid default gen_random_uuid() not null,
  primary key (id, inserted_at)
) partition by range (inserted_at);
create table realtime.messages_default partition of realtime.messages default;
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void language plpgsql as $f$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$f$;
