/**
 * The report's sections on table size: scenario 7 (rotations, refresh and purge with a
 * small against a large table) and 7b (each size cold, right after the bulk load,
 * against steady state, per rotation from pg_stat_wal and pg_stat_database).
 */
import { errors, fixed, int, mib, short, table } from "./report-format.ts";
import type { Scenarios } from "./results.ts";

/** Scenario 7: small table against large table, refresh alone and with purge running. */
export function growthSection({ growth }: Scenarios): string[] {
  if (!growth) return [];
  const latency = (r: { rps: number; latencyMs: { p50: number; p99: number } }) =>
    `${int(r.rps)}, ${fixed(r.latencyMs.p50)} / ${fixed(r.latencyMs.p99)} ms`;
  return [
    "### 7. Growth: small table against large table",
    "",
    "Steady state (after VACUUM, CHECKPOINT and a warm-up; cold figures in 7b). Rotations: pgbench, 32 clients, " +
    "random live families. Refresh: 32 connections, every request a different random live family. Revoked families " +
    "are 2 days past revocation (retention 1 day), so all of them await purge; `purge_expired(p_batch => 1000)` runs " +
    "back to back on its own connection during the second refresh run.",
    "",
    table(
      [
        "live",
        "revoked",
        "table + indexes",
        "rotations/s",
        "refresh req/s, p50 / p99",
        "with purge: req/s, p50 / p99",
        "purge batches, rows/s",
        "purge batch p50 / max",
      ],
      growth.phases.map((p) => [
        int(p.live),
        int(p.revoked),
        mib(p.tableBytes),
        int(p.rotate.tps),
        latency(p.refresh),
        latency(p.refreshWithPurge),
        `${int(p.purge.batches)}, ${int(p.purge.rowsPerSecond)}`,
        `${fixed(p.purge.batchMs.p50, 0)} / ${fixed(p.purge.batchMs.max, 0)} ms`,
      ]),
    ),
    "",
    `Refresh errors: ${
      growth.phases.map((p) => `${short(p.live)} live: ${errors(p.refresh)} / with purge ${errors(p.refreshWithPurge)}`)
        .join("; ")
    }.`,
    "",
  ];
}

/** Scenario 7b: cold against steady state, per rotation. */
export function growthColdSection({ growth }: Scenarios): string[] {
  if (!growth) return [];
  return [
    "### 7b. Growth: cold against steady state",
    "",
    "pgbench rotations, 32 clients. Cold: right after the bulk load and a CHECKPOINT. Steady: after VACUUM, " +
    "CHECKPOINT and a warm-up of rotations, no checkpoint in between (the targets use steady state). Per rotation, " +
    "from pg_stat_wal and pg_stat_database:",
    "",
    table(
      ["live", "state", "rotations/s", "full-page images", "WAL records", "WAL bytes", "HOT updates", "blocks read", "buffer miss ratio"],
      growth.phases.flatMap((p) =>
        ([["cold", p.rotateCold, p.coldStats], ["steady", p.rotate, p.steadyStats]] as const).map(([state, run, w]) => [
          int(p.live),
          state,
          int(run.tps),
          fixed(w.fullPageImages),
          fixed(w.walRecords, 1),
          int(w.walBytes),
          `${fixed(w.hotShare * 100, 0)} %`,
          fixed(w.blocksRead),
          `${fixed(w.missRatio * 100, 1)} %`,
        ])
      ),
    ),
    "",
  ];
}
