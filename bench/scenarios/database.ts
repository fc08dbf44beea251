/**
 * Scenario 1: rotations per second through `sessionguard.refresh_session` with rate
 * limits off (until 2026-12-07 `rotate_session`, which the refresh decision replaced) at
 * 1, 8 and 32 pgbench clients, against pgbench's single-row-insert commit rate on the
 * same durable cluster (the durable-commit limit). Target ≥ 0.6. Beside it, for
 * information, the same call with the default limits counted.
 */
import type { Context } from "../lib/context.ts";
import { createFamilies, resetSessions, type Sql } from "../lib/database.ts";
import { progress, ratio } from "../lib/log.ts";
import { runPgbench } from "../lib/pgbench.ts";
import type { DatabaseResult, RotationPart } from "../lib/results.ts";

/** Loop bodies; `r` is (id, generation) of one bench family. */
const PARTS: Readonly<Record<RotationPart, string>> = {
  commit: "",
  insert: "insert into bench.commit_probe (client) values (0);",
  rotateSession: `perform sessionguard.refresh_session(r.id, r.generation, bench.policy(), '127.0.0.1'::inet, 'bench');`,
  argumentChecks:
    `perform sessionguard.require(r.id is not null, 'x'); perform sessionguard.require(r.generation >= 0, 'x');
    perform sessionguard.require_user_agent('bench'); perform sessionguard.require(604800 > 0, 'x');
    perform sessionguard.require(10 between 0 and 60, 'x'); perform sessionguard.require('family' in ('family', 'user'), 'x');
    perform sessionguard.require(now() is not null, 'x');`,
  requestContext: "perform sessionguard.set_request_context('127.0.0.1'::inet, 'bench');",
  lockRow: "perform 1 from sessionguard.families f where f.id = r.id for update;",
  updateRow:
    `update sessionguard.families f set generation = f.generation + 1, rotated_at = now(), last_active_at = now(),
    idle_expires_at = least(now() + interval '604800 seconds', f.expires_at), ip = '127.0.0.1', user_agent = 'bench'
    where f.id = r.id;`,
  updateRowNoTrigger: "", // the same update with triggers off (session_replication_role = replica)
};
type Part = RotationPart;

async function measureParts(sql: Sql, families: number): Promise<Record<Part, number>> {
  const parts = {} as Record<Part, number>;
  const calls = Math.min(families, 10_000);
  const connection = await sql.reserve();
  try {
    await connection`set synchronous_commit = off`;
    for (const part of Object.keys(PARTS) as Part[]) {
      const body = part === "updateRowNoTrigger" ? PARTS.updateRow : PARTS[part];
      if (part === "updateRowNoTrigger") await connection`set session_replication_role = replica`;
      const started = performance.now();
      await connection.unsafe(`do $$ declare r record; begin
        for r in select b.id, f.generation from bench.fam b join sessionguard.families f on f.id = b.id
                 order by f.id limit ${calls} loop
          ${body}
          commit;
        end loop; end $$`);
      parts[part] = ((performance.now() - started) * 1000) / calls;
      if (part === "updateRowNoTrigger") await connection`reset session_replication_role`;
    }
  } finally {
    await connection`reset synchronous_commit`.catch(() => {});
    await connection`reset session_replication_role`.catch(() => {});
    connection.release();
  }
  return parts;
}

export async function runDatabase(ctx: Context): Promise<DatabaseResult> {
  const { sql, url } = ctx.db;
  const { dbFamilies: families, dbClients, pgbenchSeconds: seconds } = ctx.scale;
  progress("database", `starting ${families} families through start_session`);
  await resetSessions(sql);
  await createFamilies(sql, families, "user_db_");
  const generations = async () =>
    Number((await sql`select sum(generation)::text as s from sessionguard.families`)[0].s);

  progress("database", "timing the parts of a rotation inside the server");
  const parts = await measureParts(sql, families);
  progress("database", Object.entries(parts).map(([part, us]) => `${part} ${us.toFixed(1)} µs`).join(", "));

  /** A pgbench run after a checkpoint; for rotations, checked against the generations the database moved. */
  const pgbench = async (script: "insert" | "rotate" | "refresh", clients: number) => {
    await sql`checkpoint`;
    const before = await generations();
    const defines = script === "insert" ? undefined : { clients, per: Math.floor(families / clients) };
    const run = await runPgbench({ binary: ctx.pgbench, url, script: `${script}.sql`, clients, seconds, defines, label: `${script} c=${clients}` });
    const moved = (await generations()) - before;
    if (script !== "insert" && moved !== run.transactions) {
      throw new Error(`pgbench counted ${run.transactions} ${script} transactions but the database moved ${moved} generations`);
    }
    return { run, moved };
  };
  const levels: DatabaseResult["levels"][number][] = [];
  for (const clients of dbClients) {
    const { run: insert } = await pgbench("insert", clients);
    const { run: rotate, moved: rotationsCommitted } = await pgbench("rotate", clients);
    const { run: refresh } = await pgbench("refresh", clients);
    const level = { clients, insert, rotate, rotationsCommitted, ratio: ratio(rotate.tps, insert.tps), refresh, refreshRatio: ratio(refresh.tps, insert.tps) };
    levels.push(level);
    progress(
      "database",
      `c=${clients}: insert ${Math.round(insert.tps)} tps, rotate ${Math.round(rotate.tps)} tps, ratio ${level.ratio.toFixed(2)}; ` +
        `refresh_session ${Math.round(refresh.tps)} tps, ratio ${level.refreshRatio.toFixed(2)}`,
    );
  }
  return { families, levels, parts };
}
