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
 */
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import type { Context } from "../lib/context.ts";
import { resetSessions, type Sql } from "../lib/database.ts";
import { percentile, progress, ratio } from "../lib/log.ts";
import { type PgbenchResult, runPgbench } from "../lib/pgbench.ts";
import { startSessionFunction } from "../lib/targets.ts";
import { measure, type MeasuredRun } from "./http.ts";

export interface PurgeStats {
  readonly batches: number;
  readonly deleted: number;
  readonly batchMs: { readonly p50: number; readonly max: number };
  readonly rowsPerSecond: number;
}

/** Per rotation, from the server's statistics around one pgbench run. */
export interface WalStats {
  readonly walRecords: number;
  readonly fullPageImages: number;
  readonly walBytes: number;
  /** Shared-buffer misses (reads from the OS) per rotation, and their share of all block accesses. */
  readonly blocksRead: number;
  readonly missRatio: number;
  /** Share of the family-row updates that were HOT (no index entries written). */
  readonly hotShare?: number;
}

export interface GrowthPhase {
  readonly live: number;
  readonly revoked: number;
  readonly tableBytes: number;
  readonly loadSeconds: number;
  /** Right after the load and a CHECKPOINT (absent in results before 2026-11-30). */
  readonly rotateCold?: PgbenchResult;
  readonly coldStats?: WalStats;
  /** Steady state: after VACUUM, CHECKPOINT and a warm-up. */
  readonly rotate: PgbenchResult;
  readonly steadyStats?: WalStats;
  readonly refresh: MeasuredRun;
  readonly refreshWithPurge: MeasuredRun;
  readonly purge: PurgeStats;
}

export interface GrowthResult {
  readonly phases: readonly GrowthPhase[];
  /** Large-table value ÷ small-table value. */
  readonly rotateRatio: number;
  readonly p99Ratio: number;
  /** Refresh p99 with purge running ÷ without, per phase. */
  readonly purgeP99Ratios: readonly number[];
}

const CHUNK = 1_000_000;

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
const CLIENTS = 32;

/** Adds live and revoked families until the table holds `live` and `revoked` of them. */
async function load(sql: Sql, live: number, revoked: number, have: { live: number; revoked: number }) {
  const chunks: { kind: "live" | "revoked"; from: number; to: number }[] = [];
  for (let from = have.live + 1; from <= live; from += CHUNK) {
    chunks.push({ kind: "live", from, to: Math.min(live, from + CHUNK - 1) });
  }
  for (let from = have.revoked + 1; from <= revoked; from += CHUNK) {
    chunks.push({ kind: "revoked", from, to: Math.min(revoked, from + CHUNK - 1) });
  }
  let done = 0;
  const total = live - have.live + revoked - have.revoked;
  // Two loaders at once: one per core. Each chunk is inserted in id order, which
  // keeps index insertion local without making ids any less random.
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`set local synchronous_commit = off`;
        await tx`set local work_mem = '256MB'`;
        if (chunk.kind === "live") {
          await tx`
            insert into sessionguard.families (id, user_id, device_name, user_agent, ip,
              created_at, last_active_at, idle_expires_at, expires_at)
            select id, 'user_live_' || g, 'bench', 'bench', '203.0.113.7',
              now(), now(), now() + interval '7 days', now() + interval '30 days'
            from (select gen_random_uuid() as id, g from generate_series(${chunk.from}::int, ${chunk.to}::int) g) s
            order by id`;
        } else {
          await tx`
            insert into sessionguard.families (id, user_id, device_name, user_agent, ip,
              created_at, last_active_at, idle_expires_at, expires_at, revoked_at, revoked_reason)
            select id, 'user_gone_' || g, 'bench', 'bench', '203.0.113.7',
              now() - interval '10 days', now() - interval '3 days', now() - interval '3 days',
              now() + interval '20 days', now() - interval '2 days', 'signed_out'
            from (select gen_random_uuid() as id, g from generate_series(${chunk.from}::int, ${chunk.to}::int) g) s
            order by id`;
        }
      });
      done += chunk.to - chunk.from + 1;
      progress("growth", `loaded ${done.toLocaleString("en")} of ${total.toLocaleString("en")} families`);
    }
  };
  await Promise.all([worker(), worker()]);
}

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
      const refresh = await measure(ours.server, ours.target, tokens, CLIENTS, seconds, db);
      progress(
        "growth",
        `refresh: ${Math.round(refresh.rps)} req/s, p99 ${refresh.latencyMs.p99.toFixed(1)} ms`,
      );
      const purging = purgeLoop(sql);
      const refreshWithPurge = await measure(
        ours.server,
        ours.target,
        tokens,
        CLIENTS,
        seconds,
        db,
      );
      const purge = await purging.stop();
      progress(
        "growth",
        `refresh with purge: ${Math.round(refreshWithPurge.rps)} req/s, p99 ${
          refreshWithPurge.latencyMs.p99.toFixed(1)
        } ms; purge ${purge.batches} batches, ${purge.deleted} rows, batch p50 ${
          purge.batchMs.p50.toFixed(0)
        } ms`,
      );
      phases.push({
        live,
        revoked,
        tableBytes: Number(bytes),
        loadSeconds,
        rotateCold: cold.result,
        coldStats: cold.stats,
        rotate,
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
      purgeP99Ratios: phases.map((phase) =>
        ratio(phase.refreshWithPurge.latencyMs.p99, phase.refresh.latencyMs.p99)
      ),
    };
  } finally {
    await ours.stop();
  }
}
