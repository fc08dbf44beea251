/**
 * Scenario 4 (P7): a select over a 10,000-row app table whose policy calls the
 * instant-revocation helper, `(select sessionguard.session_active())`, against
 * the same select under a plain `owner_id = (select auth.jwt() ->> 'sub')`
 * policy. Runs as `authenticated` with `request.jwt.claims` set, as PostgREST
 * does; the two queries alternate in random order and medians are compared.
 * Target ≤ 1.1x.
 *
 * Two more tables, for contrast only: one calls a bench-only twin of the helper
 * (the claim helpers called inside its query), one the helper unwrapped (no
 * `select`, so it runs per row): what the wrapping saves.
 */
import type { Context } from "../lib/context.ts";
import { percentile, progress, ratio } from "../lib/log.ts";
import type { RlsResult, RlsVariant } from "../lib/results.ts";

const VARIANTS = {
  plain: "owner_id = (select auth.jwt() ->> 'sub')",
  guarded: "owner_id = (select auth.jwt() ->> 'sub') and (select sessionguard.session_active())",
  plpgsql: "owner_id = (select auth.jwt() ->> 'sub') and (select bench.session_active_plpgsql())",
  unwrapped: "owner_id = auth.jwt() ->> 'sub' and sessionguard.session_active()",
} as const;
type Variant = keyof typeof VARIANTS;
/** Timed in every round; the unwrapped variant runs the helper per row and is timed only a few times. */
const ROUND_VARIANTS: readonly Variant[] = ["plain", "guarded", "plpgsql"];
const UNWRAPPED_RUNS = 3;

export async function runRls(ctx: Context): Promise<RlsResult> {
  const { sql } = ctx.db;
  const { rlsRows: rows, rlsRounds: rounds } = ctx.scale;
  const userId = "user_rls_owner";
  progress("rls", `four ${rows}-row tables owned by one user`);
  for (const [variant, policy] of Object.entries(VARIANTS)) {
    const table = `bench.items_${variant}`;
    await sql.unsafe(`
      drop table if exists ${table};
      create table ${table} (id bigint primary key, owner_id text not null, body text not null);
      alter table ${table} enable row level security;
      create policy items_${variant}_select on ${table} for select to authenticated using (${policy});
      grant select on ${table} to authenticated;`);
    await sql.unsafe(`insert into ${table} select g, $1, md5(g::text) from generate_series(1, ${rows}) g`, [userId]);
    await sql.unsafe(`vacuum analyze ${table}`);
  }
  await sql`grant usage on schema bench to authenticated`;
  const [family] = await sql`
    select session_id from sessionguard.start_session(
      p_user_id => ${userId}, p_clerk_session_id => 'sess_rls', p_device_name => 'bench', p_user_agent => 'bench',
      p_ip => '127.0.0.1'::inet, p_idle_timeout => 604800, p_absolute_lifetime => 2592000)`;
  const claims = JSON.stringify({ sub: userId, sid: family.session_id, role: "authenticated", aud: "authenticated" });

  const connection = await sql.reserve();
  try {
    await connection`set track_functions = 'all'`;
    await connection`set role authenticated`;
    await connection`select set_config('request.jwt.claims', ${claims}, false)`;
    const count = async (variant: Variant) =>
      Number((await connection.unsafe(`select count(*) as n from bench.items_${variant}`))[0].n);
    // Calls counted so far: flushed statistics plus this backend's pending ones (a flush
    // may happen between two reads; the sum does not change when it does).
    const callsSoFar = async () => {
      const [row] = await connection`
        select coalesce(sum(coalesce(pg_catalog.pg_stat_get_function_calls(p.oid), 0)
                          + coalesce(pg_catalog.pg_stat_get_xact_function_calls(p.oid), 0)), 0) as calls
        from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where (n.nspname = 'sessionguard' and p.proname = 'session_active')
           or (n.nspname = 'bench' and p.proname = 'session_active_plpgsql')`;
      return Number(row.calls);
    };
    const helperCalls = async (variant: Variant): Promise<number | null> => {
      try {
        const before = await callsSoFar();
        await count(variant);
        return (await callsSoFar()) - before;
      } catch {
        return null;
      }
    };
    const variants = Object.keys(VARIANTS) as Variant[];
    const times: Record<Variant, number[]> = { plain: [], guarded: [], plpgsql: [], unwrapped: [] };
    const rowsLive: Record<string, number> = {};
    const calls: Record<string, number | null> = {};
    for (const variant of variants) {
      rowsLive[variant] = await count(variant);
      calls[variant] = await helperCalls(variant);
    }
    const timed = async (variant: Variant) => {
      const started = performance.now();
      await count(variant);
      return performance.now() - started;
    };
    for (let round = -5; round < rounds; round++) {
      for (const variant of [...ROUND_VARIANTS].sort(() => Math.random() - 0.5)) {
        const ms = await timed(variant);
        if (round >= 0) times[variant].push(ms);
      }
    }
    for (let run = 0; run < UNWRAPPED_RUNS; run++) times.unwrapped.push(await timed("unwrapped"));

    await sql`select sessionguard.revoke_session(${userId}, ${family.session_id}::uuid, 'session_revoked')`;
    const rowsRevoked: Record<string, number> = {};
    for (const variant of variants) rowsRevoked[variant] = await count(variant);

    const summary = (variant: Variant): RlsVariant => {
      const sorted = [...times[variant]].sort((a, b) => a - b);
      return {
        policy: VARIANTS[variant],
        medianMs: percentile(sorted, 50),
        p90Ms: percentile(sorted, 90),
        rowsLive: rowsLive[variant],
        rowsRevoked: rowsRevoked[variant],
        helperCalls: calls[variant],
      };
    };
    const summaries = Object.fromEntries(variants.map((v) => [v, summary(v)])) as RlsResult["variants"];
    if (summaries.guarded.rowsLive !== rows || summaries.guarded.rowsRevoked !== 0) {
      throw new Error(`the guarded policy is broken: ${JSON.stringify(summaries.guarded)}`);
    }
    const result: RlsResult = {
      rows, rounds, variants: summaries, unwrappedRuns: UNWRAPPED_RUNS, ratio: ratio(summaries.guarded.medianMs, summaries.plain.medianMs),
    };
    const ms = (v: Variant) => `${summaries[v].medianMs.toFixed(2)} ms`;
    progress("rls", `median plain ${ms("plain")}, guarded ${ms("guarded")} (${result.ratio.toFixed(3)}x), PL/pgSQL twin ${ms("plpgsql")}, unwrapped ${ms("unwrapped")}`);
    return result;
  } finally {
    await connection`reset role`.catch(() => {});
    connection.release();
  }
}
