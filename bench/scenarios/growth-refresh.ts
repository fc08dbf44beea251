/**
 * Scenario 7's HTTP refresh runs at one table size: 32 connections, every
 * request a different random live family (tokens minted with the function's
 * own code and secret), once alone and once while `sessionguard.purge_expired`
 * deletes in batches of 1000, back to back, on its own connection.
 */
import type { RefreshTokens } from "../../functions/refresh-token.ts";
import type { Context } from "../lib/context.ts";
import type { Sql } from "../lib/database.ts";
import { percentile, progress } from "../lib/log.ts";
import { measure } from "../lib/load.ts";
import type { GrowthPhase, MeasuredRun } from "../lib/results.ts";
import type { SessionFunction } from "../lib/targets.ts";
import { CLIENTS } from "./growth-rotate.ts";

type PurgeStats = GrowthPhase["purge"];

/** Calls purge_expired back to back until stopped; what it did and how long each batch took. */
function purgeLoop(sql: Sql): { stop(): Promise<PurgeStats> } {
  let running = true;
  const durations: number[] = [];
  let deleted = 0;
  const started = performance.now();
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const [row] = await sql`select * from sessionguard.purge_expired(p_batch => 1000)`;
      durations.push(performance.now() - t0);
      deleted += Number(row.deleted) + Number(row.expired);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const seconds = (performance.now() - started) / 1000;
      durations.sort((a, b) => a - b);
      return {
        batches: durations.length,
        deleted,
        batchMs: { p50: percentile(durations, 50), max: durations[durations.length - 1] ?? NaN },
        rowsPerSecond: deleted / seconds,
      };
    },
  };
}

/** Refresh load alone, then with purge running; what purge did meanwhile. */
export async function refreshRuns(
  ctx: Context,
  ours: SessionFunction,
  refreshTokens: RefreshTokens,
  live: number,
  seconds: number,
): Promise<{ refresh: MeasuredRun; refreshWithPurge: MeasuredRun; purge: PurgeStats }> {
  const { db } = ctx;
  const { sql } = db;
  // Tokens of random live families, at their current generation, minted with the function's secret.
  const poolSize = Math.min(live, 40_000);
  const rows = await sql<{ id: string; generation: string }[]>`
    select f.id, f.generation::text as generation
    from (select (1 + floor(random() * ${live}))::int as n from generate_series(1, ${poolSize * 2})) r
    join bench.fam b using (n)
    join sessionguard.families f on f.id = b.id
    group by f.id, f.generation
    limit ${poolSize}`;
  const pool = await Promise.all(rows.map((row) => refreshTokens.mint(row.id, Number(row.generation))));
  // Shuffle so each request lands on an unrelated page of the table.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const tokens = { kind: "pool" as const, tokens: pool };
  const refresh = await measure(ours, tokens, CLIENTS, seconds, db);
  progress(
    "growth",
    `refresh: ${Math.round(refresh.rps)} req/s, p99 ${refresh.latencyMs.p99.toFixed(1)} ms`,
  );
  const purging = purgeLoop(sql);
  const refreshWithPurge = await measure(ours, tokens, CLIENTS, seconds, db);
  const purge = await purging.stop();
  progress(
    "growth",
    `refresh with purge: ${Math.round(refreshWithPurge.rps)} req/s, p99 ${
      refreshWithPurge.latencyMs.p99.toFixed(1)
    } ms; purge ${purge.batches} batches, ${purge.deleted} rows, batch p50 ${
      purge.batchMs.p50.toFixed(0)
    } ms`,
  );
  return { refresh, refreshWithPurge, purge };
}
