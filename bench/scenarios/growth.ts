/**
 * Scenario 7: does a refresh cost more when the table is big? Rotations per second
 * (pgbench, 32 clients, random live families) and refresh latency (HTTP, 32
 * connections, each request a different random live family) with a small and a large
 * table: 10,000 and 1,000,000 live families, each with ten times as many revoked ones
 * past retention, awaiting purge. The refresh load runs once alone and once while
 * `sessionguard.purge_expired` deletes in bounded batches (growth-refresh.ts).
 *
 * Families are bulk-loaded straight into the table (triggers off, so no start events),
 * at generation 0, and their refresh tokens minted with the function's own code and
 * secret. Each size is measured cold and in steady state (growth-rotate.ts, 7b), to
 * tell the bulk load's aftermath from the design's own cost.
 */
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import type { Context } from "../lib/context.ts";
import { resetSessions, type Sql } from "../lib/database.ts";
import { progress, ratio } from "../lib/log.ts";
import type { GrowthPhase, GrowthResult } from "../lib/results.ts";
import { startSessionFunction } from "../lib/targets.ts";
import { refreshRuns } from "./growth-refresh.ts";
import { rotateColdAndSteady } from "./growth-rotate.ts";

/** Families per insert statement. */
const CHUNK = 1_000_000;

/** Scenario 7 at each size of the scale, small first; the table only grows between sizes. */
export async function runGrowth(ctx: Context): Promise<GrowthResult> {
  const { db, scale } = ctx;
  const { sql } = db;
  await resetSessions(sql);
  const ours = await startSessionFunction(db.url);
  try {
    const refreshTokens = await createRefreshTokens([ours.settings.SESSION_REFRESH_SECRET], ours.settings.SESSION_ISSUER);
    const phases: GrowthPhase[] = [];
    for (const { live, revoked } of scale.growth) {
      progress("growth", `loading ${live.toLocaleString("en")} live and ${revoked.toLocaleString("en")} revoked families`);
      const loadStarted = performance.now();
      // Purging during the previous phase removed some revoked families: top them up.
      const [have] = await sql`
        select count(*) filter (where revoked_at is null)::int as live, count(*) filter (where revoked_at is not null)::int as revoked
        from sessionguard.families`;
      await load(sql, live, revoked, have as { live: number; revoked: number });
      await sql`truncate bench.fam`;
      await sql`
        insert into bench.fam (n, id)
        select row_number() over (order by id), id from sessionguard.families where revoked_at is null`;
      await sql`analyze sessionguard.families`;
      await sql`analyze bench.fam`;
      await sql`checkpoint`;
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      const [{ bytes }] = await sql`select pg_total_relation_size('sessionguard.families') as bytes`;
      progress("growth", `table and indexes: ${(Number(bytes) / 2 ** 20).toFixed(0)} MiB (${loadSeconds.toFixed(0)} s to load)`);

      const { cold, steady } = await rotateColdAndSteady(ctx, live, scale.growthSeconds);
      const runs = await refreshRuns(ctx, ours, refreshTokens, live, scale.growthSeconds);
      phases.push({
        live,
        revoked,
        tableBytes: Number(bytes),
        loadSeconds,
        rotateCold: cold.result,
        coldStats: cold.stats,
        rotate: steady.result,
        steadyStats: steady.stats,
        ...runs,
      });
    }
    const [small, large] = [phases[0], phases[phases.length - 1]];
    return {
      phases,
      rotateRatio: ratio(large.rotate.tps, small.rotate.tps),
      p99Ratio: ratio(large.refresh.latencyMs.p99, small.refresh.latencyMs.p99),
    };
  } finally {
    await ours.stop();
  }
}

/**
 * Adds live families (idle and absolute expiry ahead) and revoked ones (2 days past
 * revocation, so past the 1-day retention) until the table holds `live` and `revoked`.
 */
async function load(sql: Sql, live: number, revoked: number, have: { live: number; revoked: number }) {
  const chunks: { kind: "live" | "revoked"; from: number; to: number }[] = [];
  for (const [kind, want, from0] of [["live", live, have.live], ["revoked", revoked, have.revoked]] as const) {
    for (let from = from0 + 1; from <= want; from += CHUNK) chunks.push({ kind, from, to: Math.min(want, from + CHUNK - 1) });
  }
  let done = 0;
  const total = Math.max(0, live - have.live) + Math.max(0, revoked - have.revoked);
  // Two loaders at once: one per core. Each chunk is inserted in id order, which
  // keeps index insertion local without making ids any less random.
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      const { kind, from, to } = chunk;
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`set local synchronous_commit = off`;
        await tx`set local work_mem = '256MB'`;
        const ended = kind === "revoked";
        await tx`
          insert into sessionguard.families (id, user_id, device_name, user_agent, ip,
            created_at, last_active_at, idle_expires_at, expires_at, revoked_at, revoked_reason)
          select id, ${ended ? "user_gone_" : "user_live_"} || g, 'bench', 'bench', '203.0.113.7',
            now() - ${ended ? "10 days" : "0"}::interval, now() - ${ended ? "3 days" : "0"}::interval,
            now() + ${ended ? "-3 days" : "7 days"}::interval, now() + ${ended ? "20 days" : "30 days"}::interval,
            now() - ${ended ? "2 days" : null}::interval, ${ended ? "signed_out" : null}
          from (select gen_random_uuid() as id, g from generate_series(${from}::int, ${to}::int) g) s
          order by id`;
      });
      done += to - from + 1;
      progress("growth", `loaded ${done.toLocaleString("en")} of ${total.toLocaleString("en")} families`);
    }
  };
  await Promise.all([worker(), worker()]);
}
