/**
 * Scenario 5 (P6): bytes of `sessionguard.families` (table and indexes) for N
 * families after 1 and after R rotations each, as left by normal operation
 * (autovacuum on) and after a plain VACUUM. Rotations commit in small batches
 * of unrelated families (bench.rotate_each), as concurrent refreshes do in
 * production; a whole round in one transaction would keep every old version alive.
 */
import type { Context } from "../lib/context.ts";
import { createFamilies, resetSessions, type Sql } from "../lib/database.ts";
import { progress } from "../lib/log.ts";
import type { Sizes, StorageResult } from "../lib/results.ts";

const CHECKPOINTS = [1, 2, 5, 10, 20, 50, 100];

async function sizes(sql: Sql): Promise<Sizes> {
  const [row] = await sql`
    select pg_relation_size('sessionguard.families') as table_bytes,
           pg_indexes_size('sessionguard.families') as index_bytes,
           pg_total_relation_size('sessionguard.families') as total_bytes,
           (select count(*) from sessionguard.events) as events`;
  // From the cumulative statistics: approximate, and a moment behind.
  const [stats] = await sql`
    select coalesce(n_dead_tup, 0) as dead from pg_catalog.pg_stat_user_tables
    where relid = 'sessionguard.families'::regclass`;
  return {
    tableBytes: Number(row.table_bytes),
    indexBytes: Number(row.index_bytes),
    totalBytes: Number(row.total_bytes),
    deadTuples: Number(stats?.dead ?? NaN),
    events: Number(row.events),
  };
}

export async function runStorage(ctx: Context): Promise<StorageResult> {
  const { sql } = ctx.db;
  const { storageFamilies: families, storageRotations: rotations } = ctx.scale;
  progress("storage", `starting ${families} families`);
  await resetSessions(sql);
  await createFamilies(sql, families, "user_st_");
  await sql`truncate sessionguard.events`;
  const fresh = await sizes(sql);

  // One rotation of every family per round on one connection, committed in small
  // batches (durability is not what this scenario measures, so commits do not wait
  // for the disk).
  const connection = await sql.reserve();
  const checkpoints: { rotations: number; raw: Sizes }[] = [];
  let afterOneVacuumed: Sizes | undefined;
  const started = performance.now();
  try {
    await connection`set synchronous_commit = off`;
    for (let generation = 0; generation < rotations; generation++) {
      await connection.unsafe(`call bench.rotate_each(${generation}, 20)`);
      const done = generation + 1;
      if (CHECKPOINTS.includes(done) || done === rotations) {
        const raw = await sizes(sql);
        checkpoints.push({ rotations: done, raw });
        progress("storage", `${done} rotation${done > 1 ? "s" : ""} each: ${raw.totalBytes} bytes (raw)`);
      }
      if (done === 1) {
        await sql`vacuum sessionguard.families`;
        afterOneVacuumed = await sizes(sql);
      }
    }
  } finally {
    await connection`reset synchronous_commit`.catch(() => {});
    connection.release();
  }
  const perSecond = (families * rotations) / ((performance.now() - started) / 1000);
  progress("storage", `${Math.round(perSecond)} rotations/s, committed every 20`);
  const afterManyRaw = checkpoints[checkpoints.length - 1].raw;
  await sql`vacuum sessionguard.families`;
  const afterManyVacuumed = await sizes(sql);
  const afterOneRaw = checkpoints[0].raw;
  return {
    families,
    rotations,
    fresh,
    checkpoints,
    afterOne: { raw: afterOneRaw, vacuumed: afterOneVacuumed! },
    afterMany: { raw: afterManyRaw, vacuumed: afterManyVacuumed },
    growth: afterManyVacuumed.totalBytes / afterOneVacuumed!.totalBytes,
  };
}
