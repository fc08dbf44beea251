/**
 * Scenario 7: does a refresh cost more when the table is big? Rotations per
 * second (pgbench, 32 clients, random live families) and refresh latency (HTTP,
 * 32 connections, each request a different random live family) with a small
 * and a large table: 10,000 and 1,000,000 live families, each with ten times
 * as many revoked ones past retention, awaiting purge. The refresh load runs
 * once alone and once while `sessionguard.purge_expired` deletes in bounded
 * batches, back to back, on its own connection.
 *
 * Families are bulk-loaded straight into the table (triggers off, so no start
 * events), at generation 0, and their refresh tokens minted here with the
 * function's own code and secret.
 *
 * Each size is measured twice with pgbench: cold, right after the bulk load
 * and a CHECKPOINT (every page's first change after a checkpoint writes a
 * full-page image to WAL, every tuple's first read sets hint bits, and no
 * bulk-loaded page has room for a HOT update), and in steady state, after a
 * VACUUM, a CHECKPOINT and a warm-up of rotations with no checkpoint between
 * warm-up and measurement (what a table that grew over months looks like
 * between checkpoints). WAL records, full-page images, WAL bytes and buffer
 * misses per rotation are read from pg_stat_wal and pg_stat_database around
 * each run, to tell the bulk load's aftermath from the design's own cost. The
 * targets and the HTTP refresh runs use the steady state.
 *
 * The bulk load is in growth-load.ts, the pgbench runs in growth-rotate.ts,
 * the refresh and purge runs in growth-refresh.ts.
 */
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import type { Context } from "../lib/context.ts";
import { resetSessions } from "../lib/database.ts";
import { progress, ratio } from "../lib/log.ts";
import type { GrowthPhase, GrowthResult } from "../lib/results.ts";
import { startSessionFunction } from "../lib/targets.ts";
import { load } from "./growth-load.ts";
import { refreshRuns } from "./growth-refresh.ts";
import { rotateColdAndSteady } from "./growth-rotate.ts";

/** Scenario 7 at each size of the scale, small first; the table only grows between sizes. */
export async function runGrowth(ctx: Context): Promise<GrowthResult> {
  const { db, scale } = ctx;
  const { sql } = db;
  const seconds = scale.growthSeconds;
  await resetSessions(sql);
  const ours = await startSessionFunction(db.url);
  try {
    const refreshTokens = await createRefreshTokens(
      [ours.settings.SESSION_REFRESH_SECRET],
      ours.settings.SESSION_ISSUER,
    );
    const have = { live: 0, revoked: 0 };
    const phases: GrowthPhase[] = [];
    for (const { live, revoked } of scale.growth) {
      progress(
        "growth",
        `loading ${live.toLocaleString("en")} live and ${revoked.toLocaleString("en")} revoked families`,
      );
      const loadStarted = performance.now();
      await load(sql, live, revoked, have);
      // Purging during the previous phase removed some revoked families: top them up.
      const [{ revoked: nowRevoked }] = await sql`
        select count(*)::int as revoked from sessionguard.families where revoked_at is not null`;
      if (nowRevoked < revoked) await load(sql, live, revoked, { live, revoked: nowRevoked });
      have.live = live;
      have.revoked = revoked;
      await sql`truncate bench.fam`;
      await sql`
        insert into bench.fam (n, id)
        select row_number() over (order by id), id from sessionguard.families where revoked_at is null`;
      await sql`analyze sessionguard.families`;
      await sql`analyze bench.fam`;
      await sql`checkpoint`;
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      const [{ bytes }] = await sql`select pg_total_relation_size('sessionguard.families') as bytes`;
      progress(
        "growth",
        `table and indexes: ${(Number(bytes) / 2 ** 20).toFixed(0)} MiB (${
          loadSeconds.toFixed(0)
        } s to load)`,
      );

      const { cold, steady } = await rotateColdAndSteady(ctx, live, seconds);
      const { refresh, refreshWithPurge, purge } = await refreshRuns(ctx, ours, refreshTokens, live, seconds);
      phases.push({
        live,
        revoked,
        tableBytes: Number(bytes),
        loadSeconds,
        rotateCold: cold.result,
        coldStats: cold.stats,
        rotate: steady.result,
        steadyStats: steady.stats,
        refresh,
        refreshWithPurge,
        purge,
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
