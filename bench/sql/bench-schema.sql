-- Objects the bench needs in its throwaway database, kept in their own schema so
-- nothing of sessionguard's is changed. Never applied to a real project.

create schema bench;
comment on schema bench is 'Benchmark fixtures (throwaway bench database only).';

-- Families by number, so pgbench scripts can pick one with \set and random().
create table bench.fam (
  n integer not null,
  id uuid not null,
  constraint fam_pkey primary key (n)
);

-- The baseline of the database scenario: one single-row insert per transaction.
create table bench.commit_probe (
  id bigint generated always as identity,
  client integer not null,
  at timestamptz not null default now(),
  constraint commit_probe_pkey primary key (id)
);

-- The refresh route's policy with the default session settings and rate limits off.
create function bench.policy()
returns jsonb
language sql
immutable
as $$
  select '{"idle_timeout": 604800, "reuse_grace": 10, "theft_scope": "family", "dpop_lifetime": 300,
           "dpop_mismatch": "refuse", "rate_limit": null, "ip_rate_limit": null}'::jsonb
$$;

/*
 * One rotation of every family in bench.fam at generation p_generation, committing
 * every p_batch rotations, as refreshes arrive in production: a page's old row
 * versions are dead (and prunable) by the time the next rotation on that page needs
 * room. Families go in id order, which is unrelated to where their rows lie, so the
 * rotations of one transaction land on different pages. p_part of p_parts splits the
 * families between concurrent callers.
 */
create procedure bench.rotate_each(
  p_generation bigint, p_batch integer default 20, p_part integer default 0, p_parts integer default 1)
language plpgsql
as $$
declare
  v_id uuid;
  v_result text;
  v_done integer := 0;
begin
  for v_id in select id from bench.fam where n % p_parts = p_part order by id loop
    select r.result into v_result
    from sessionguard.refresh_session(
      p_session_id => v_id, p_generation => p_generation, p_policy => bench.policy(),
      p_ip => '127.0.0.1'::inet, p_user_agent => 'bench') as r;
    if v_result is distinct from 'rotated' then
      raise exception 'family % at generation % answered %', v_id, p_generation, v_result;
    end if;
    v_done := v_done + 1;
    if v_done % p_batch = 0 then
      commit;
    end if;
  end loop;
end;
$$;
comment on procedure bench.rotate_each(bigint, integer, integer, integer) is
  'Rotates every bench family (numbers n with n % p_parts = p_part) once, committing every p_batch rotations.';

-- Contrast for the RLS scenario: the same check as sessionguard.session_active(), with
-- the claim helpers called inside the lookup's query instead of before it.
create function bench.session_active_plpgsql()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (
    select 1
    from sessionguard.families f
    where f.id = sessionguard.session_id()
      and f.user_id = sessionguard.user_id()
      and f.revoked_at is null
      and f.expires_at > now()
      and f.idle_expires_at > now());
end;
$$;
comment on function bench.session_active_plpgsql() is 'Bench-only PL/pgSQL twin of sessionguard.session_active().';
revoke execute on function bench.session_active_plpgsql() from public;
grant execute on function bench.session_active_plpgsql() to authenticated;
