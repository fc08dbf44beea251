/**
 * Scenario 7's pgbench rotations at one table size, cold and in steady state.
 * Cold: right after the bulk load and a CHECKPOINT (every page's first change
 * after a checkpoint writes a full-page image to WAL, every tuple's first read
 * sets hint bits, and no bulk-loaded page has room for a HOT update). Steady:
 * after a VACUUM, a CHECKPOINT and a warm-up of rotations with no checkpoint
 * between warm-up and measurement. WAL records, full-page images, WAL bytes,
 * buffer misses and HOT updates per rotation are read from pg_stat_wal,
 * pg_stat_database and pg_stat_user_tables around each run.
 */
import type { Context } from "../lib/context.ts";
import type { Sql } from "../lib/database.ts";
import { progress } from "../lib/log.ts";
import { runPgbench } from "../lib/pgbench.ts";
import type { PgbenchResult, WalStats } from "../lib/results.ts";

/** pgbench clients, and HTTP connections of the refresh runs. */
export const CLIENTS = 32;

interface Counters {
  walRecords: number;
  fpi: number;
  walBytes: number;
  blksRead: number;
  blksHit: number;
  updates: number;
  hotUpdates: number;
}

async function counters(sql: Sql): Promise<Counters> {
  await sql`select pg_catalog.pg_stat_force_next_flush()`;
  await sql`select pg_catalog.pg_stat_clear_snapshot()`;
  const [row] = await sql`
    select w.wal_records::float8 as wal_records, w.wal_fpi::float8 as fpi, w.wal_bytes::float8 as wal_bytes,
      d.blks_read::float8 as blks_read, d.blks_hit::float8 as blks_hit,
      t.n_tup_upd::float8 as updates, t.n_tup_hot_upd::float8 as hot_updates
    from pg_catalog.pg_stat_wal w, pg_catalog.pg_stat_database d, pg_catalog.pg_stat_user_tables t
    where d.datname = current_database() and t.relid = 'sessionguard.families'::regclass`;
  return {
    walRecords: row.wal_records,
    fpi: row.fpi,
    walBytes: row.wal_bytes,
    blksRead: row.blks_read,
    blksHit: row.blks_hit,
    updates: row.updates,
    hotUpdates: row.hot_updates,
  };
}

/** Runs pgbench rotations and reads WAL and buffer statistics around them. */
async function rotateWithStats(
  ctx: Context,
  live: number,
  seconds: number,
  label: string,
): Promise<{ result: PgbenchResult; stats: WalStats }> {
  const before = await counters(ctx.db.sql);
  const result = await runPgbench({
    binary: ctx.pgbench,
    url: ctx.db.url,
    script: "rotate.sql",
    clients: CLIENTS,
    seconds,
    defines: { clients: CLIENTS, per: Math.floor(live / CLIENTS) },
    label,
  });
  // pgbench's backends have exited, so their statistics are flushed.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await counters(ctx.db.sql);
  const n = Math.max(1, result.transactions);
  const read = after.blksRead - before.blksRead;
  const hit = after.blksHit - before.blksHit;
  return {
    result,
    stats: {
      walRecords: (after.walRecords - before.walRecords) / n,
      fullPageImages: (after.fpi - before.fpi) / n,
      walBytes: (after.walBytes - before.walBytes) / n,
      blocksRead: read / n,
      missRatio: read + hit > 0 ? read / (read + hit) : NaN,
      hotShare: (after.hotUpdates - before.hotUpdates) / Math.max(1, after.updates - before.updates),
    },
  };
}

/** Rotations at one size: cold, then (after VACUUM, CHECKPOINT and a warm-up) steady. */
export async function rotateColdAndSteady(
  ctx: Context,
  live: number,
  seconds: number,
): Promise<{ cold: { result: PgbenchResult; stats: WalStats }; steady: { result: PgbenchResult; stats: WalStats } }> {
  const { db, scale } = ctx;
  const { sql } = db;
  const size = live.toLocaleString("en");
  const cold = await rotateWithStats(ctx, live, seconds, `rotate ${size} live (cold)`);
  progress(
    "growth",
    `cold rotations: ${Math.round(cold.result.tps)}/s, ${cold.stats.fullPageImages.toFixed(2)} full-page images ` +
      `and ${Math.round(cold.stats.walBytes)} WAL bytes per rotation`,
  );
  // Steady state: what autovacuum would have done, a checkpoint, then a warm-up without one.
  await sql`vacuum (analyze) sessionguard.families`;
  await sql`checkpoint`;
  await runPgbench({
    binary: ctx.pgbench,
    url: db.url,
    script: "rotate.sql",
    clients: CLIENTS,
    seconds: scale.growthWarmupSeconds,
    defines: { clients: CLIENTS, per: Math.floor(live / CLIENTS) },
    label: `warm-up ${size} live`,
  });
  const steady = await rotateWithStats(ctx, live, seconds, `rotate ${size} live (steady)`);
  const rotate = steady.result;
  progress(
    "growth",
    `steady rotations: ${Math.round(rotate.tps)}/s, ${steady.stats.fullPageImages.toFixed(2)} full-page images ` +
      `and ${Math.round(steady.stats.walBytes)} WAL bytes per rotation`,
  );
  return { cold, steady };
}
