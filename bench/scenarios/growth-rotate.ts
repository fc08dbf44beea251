/**
 * Scenario 7's pgbench rotations at one table size, cold and in steady state (7b).
 * Cold: right after the bulk load and a CHECKPOINT (every page's first change after a
 * checkpoint writes a full-page image to WAL, every tuple's first read sets hint bits,
 * and no bulk-loaded page has room for a HOT update). Steady: after a VACUUM, a
 * CHECKPOINT and a warm-up of rotations with no checkpoint between warm-up and
 * measurement. WAL, buffer and HOT-update counters per rotation come from pg_stat_wal,
 * pg_stat_database and pg_stat_user_tables around each run.
 */
import type { Context } from "../lib/context.ts";
import type { Sql } from "../lib/database.ts";
import { progress } from "../lib/log.ts";
import { runPgbench } from "../lib/pgbench.ts";
import type { PgbenchResult, WalStats } from "../lib/results.ts";

/** pgbench clients, and HTTP connections of the refresh runs. */
export const CLIENTS = 32;

type Counters = Record<"wal_records" | "fpi" | "wal_bytes" | "blks_read" | "blks_hit" | "updates" | "hot_updates", number>;

async function counters(sql: Sql): Promise<Counters> {
  await sql`select pg_catalog.pg_stat_force_next_flush()`;
  await sql`select pg_catalog.pg_stat_clear_snapshot()`;
  const [row] = await sql<Counters[]>`
    select w.wal_records::float8 as wal_records, w.wal_fpi::float8 as fpi, w.wal_bytes::float8 as wal_bytes,
      d.blks_read::float8 as blks_read, d.blks_hit::float8 as blks_hit,
      t.n_tup_upd::float8 as updates, t.n_tup_hot_upd::float8 as hot_updates
    from pg_catalog.pg_stat_wal w, pg_catalog.pg_stat_database d, pg_catalog.pg_stat_user_tables t
    where d.datname = current_database() and t.relid = 'sessionguard.families'::regclass`;
  return row;
}

/** Blocks read from outside shared buffers, per table and index of the schemas a rotation touches. */
async function readsByRelation(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql<{ name: string; reads: number }[]>`
    select relname as name, coalesce(heap_blks_read, 0)::float8 as reads
    from pg_catalog.pg_statio_all_tables where schemaname in ('sessionguard', 'bench')
    union all
    select indexrelname, coalesce(idx_blks_read, 0)::float8
    from pg_catalog.pg_statio_all_indexes where schemaname in ('sessionguard', 'bench')`;
  return new Map(rows.map((r) => [r.name, r.reads]));
}

/** pgbench rotations of `live` random live families for `seconds`. */
const rotate = (ctx: Context, live: number, seconds: number, label: string) =>
  runPgbench({
    binary: ctx.pgbench,
    url: ctx.db.url,
    script: "rotate.sql",
    clients: CLIENTS,
    seconds,
    defines: { clients: CLIENTS, per: Math.floor(live / CLIENTS) },
    label,
  });

/** Runs pgbench rotations and reads WAL and buffer statistics around them. */
async function rotateWithStats(ctx: Context, live: number, seconds: number, state: string) {
  const before = await counters(ctx.db.sql);
  const readsBefore = await readsByRelation(ctx.db.sql);
  const result = await rotate(ctx, live, seconds, `rotate ${live.toLocaleString("en")} live (${state})`);
  // pgbench's backends have exited, so their statistics are flushed.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await counters(ctx.db.sql);
  const readsAfter = await readsByRelation(ctx.db.sql);
  const d = (name: keyof Counters) => after[name] - before[name];
  const n = Math.max(1, result.transactions);
  const stats: WalStats = {
    walRecords: d("wal_records") / n,
    fullPageImages: d("fpi") / n,
    walBytes: d("wal_bytes") / n,
    blocksRead: d("blks_read") / n,
    missRatio: d("blks_read") + d("blks_hit") > 0 ? d("blks_read") / (d("blks_read") + d("blks_hit")) : NaN,
    hotShare: d("hot_updates") / Math.max(1, d("updates")),
  };
  // Where the blocks read come from, for the log: the relations that read most.
  const reads = [...readsAfter].map(([name, total]) => [name, (total - (readsBefore.get(name) ?? 0)) / n] as const)
    .filter(([, perRotation]) => perRotation >= 0.005).sort((a, b) => b[1] - a[1]).slice(0, 5)
    .map(([name, perRotation]) => `${name} ${perRotation.toFixed(3)}`).join(", ");
  progress(
    "growth",
    `${state} rotations: ${Math.round(result.tps)}/s, ${stats.fullPageImages.toFixed(2)} full-page images ` +
      `and ${Math.round(stats.walBytes)} WAL bytes per rotation; blocks read per rotation: ${reads || "none"}`,
  );
  return { result, stats };
}

type Measured = { result: PgbenchResult; stats: WalStats };

/** Rotations at one size: cold, then (after VACUUM, CHECKPOINT and a warm-up) steady. */
export async function rotateColdAndSteady(ctx: Context, live: number, seconds: number): Promise<{ cold: Measured; steady: Measured }> {
  const cold = await rotateWithStats(ctx, live, seconds, "cold");
  // Steady state: what autovacuum would have done, a checkpoint, then a warm-up without one.
  await ctx.db.sql`vacuum (analyze) sessionguard.families`;
  await ctx.db.sql`checkpoint`;
  await rotate(ctx, live, ctx.scale.growthWarmupSeconds, `warm-up ${live.toLocaleString("en")} live`);
  return { cold, steady: await rotateWithStats(ctx, live, seconds, "steady") };
}
