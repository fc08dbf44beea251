/**
 * The report's sections on the database alone: scenario 1 (rotations against
 * the durable-commit limit, and where a rotation's server time goes),
 * scenario 4 (the revocation helper in an RLS policy) and scenario 5 (storage
 * per family).
 */
import type { StorageResult } from "../scenarios/storage.ts";
import { fixed, int, kib, table } from "./report-format.ts";
import type { Scenarios } from "./report.ts";

/** Labels of the parts of a rotation scenario 1 times, in table order. */
const PART_LABELS = {
  commit: "an empty transaction",
  insert: "single-row insert (the baseline's statement)",
  rotateSession: "`sessionguard.rotate_session`, whole",
  argumentChecks: "its argument checks (6 × `require`, 1 × `require_user_agent`)",
  requestContext: "its `set_request_context` (2 × `set_config`)",
  lockRow: "its `select … for update` of the family",
  updateRow: "its row update, guard trigger on",
  updateRowNoTrigger: "the same update, triggers off",
} as const;

/** Scenario 1: pgbench rotations against single-row inserts, and a rotation's parts. */
export function databaseSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const database = scenarios.database;
  if (database) {
    out.push(
      "### 1. Database: rotations against the durable-commit limit",
      "",
      `pgbench, prepared statements, ${database.levels[0]?.insert.seconds ?? "?"} s per run, ${
        int(database.families)
      } families; ` +
        "each client rotates only its own families. Baseline: one single-row insert per transaction on the same server.",
      "",
      table(
        ["clients", "inserts/s", "rotations/s", "ratio (≥ 0.6)", "insert latency", "rotation latency"],
        database.levels.map((l) => [
          String(l.clients),
          int(l.insert.tps),
          int(l.rotate.tps),
          fixed(l.ratio),
          `${fixed(l.insert.latencyMs, 3)} ms`,
          `${fixed(l.rotate.latencyMs, 3)} ms`,
        ]),
      ),
      "",
      "Where a rotation's server time goes: PL/pgSQL loops on one connection, each call committed without waiting " +
        "for the disk, so every figure includes a commit (µs per call):",
      "",
      table(
        ["part", "µs"],
        (Object.entries(PART_LABELS) as [keyof typeof PART_LABELS, string][]).map(([part, label]) => [
          label,
          fixed(database.parts[part], 1),
        ]),
      ),
      "",
    );
  }
  return out;
}

/** Scenario 4: `select count(*)` under the helper policy against a plain one. */
export function rlsSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const rls = scenarios.rls;
  if (rls) {
    out.push(
      "### 4. RLS: the instant-revocation helper in a policy",
      "",
      `\`select count(*)\` over ${
        int(rls.rows)
      } rows of one user, as \`authenticated\` with \`request.jwt.claims\` set; ` +
        `${rls.rounds} rounds, the variants in random order each round. Ratio of medians, helper ÷ plain: ` +
        `**${fixed(rls.ratio, 3)}** (target ≤ 1.1); with the PL/pgSQL twin: ${
          fixed(rls.variants.plpgsql.medianMs / rls.variants.plain.medianMs, 3)
        }.`,
      "",
      table(
        [
          "policy",
          "median",
          "p90",
          "rows (live session)",
          "rows (after revoke)",
          "helper calls per select",
        ],
        (["plain", "guarded", "plpgsql", "unwrapped"] as const).map((name) => {
          const v = rls.variants[name];
          const label = {
            plain: "",
            guarded: "",
            plpgsql: "(contrast, bench-only PL/pgSQL twin) ",
            unwrapped: `(contrast, ${rls.unwrappedRuns} runs) `,
          }[name];
          return [
            `${label}\`${v.policy}\``,
            `${fixed(v.medianMs, 3)} ms`,
            `${fixed(v.p90Ms, 3)} ms`,
            int(v.rowsLive),
            int(v.rowsRevoked),
            v.helperCalls === null ? "–" : int(v.helperCalls),
          ];
        }),
      ),
      "",
    );
  }
  return out;
}

/** Scenario 5: bytes per family after one and after many rotations, raw and vacuumed. */
export function storageSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const storage = scenarios.storage;
  if (storage) {
    const row = (label: string, s: StorageResult["fresh"]) => [
      label,
      kib(s.tableBytes),
      kib(s.indexBytes),
      kib(s.totalBytes),
      `${int(s.totalBytes / storage.families)} B`,
      int(s.deadTuples),
      int(s.events),
    ];
    out.push(
      "### 5. Storage per family (P6)",
      "",
      `\`sessionguard.families\` with ${
        int(storage.families)
      } families; each round rotates every family once on one connection, committing every 20. ` +
        "Raw = as left by normal operation (autovacuum on); vacuumed = after a plain `VACUUM`.",
      "",
      table(
        ["state", "table", "indexes", "total", "per family", "dead tuples (approx.)", "rows in events"],
        [
          row("started, 0 rotations", storage.fresh),
          row("1 rotation, raw", storage.afterOne.raw),
          row("1 rotation, vacuumed", storage.afterOne.vacuumed),
          row(`${storage.rotations} rotations, raw`, storage.afterMany.raw),
          row(`${storage.rotations} rotations, vacuumed`, storage.afterMany.vacuumed),
        ],
      ),
      "",
      `Total bytes along the way (raw): ${
        storage.checkpoints.map((c) => `${c.rotations}: ${kib(c.raw.totalBytes)}`).join(", ")
      }.`,
      "",
    );
  }
  return out;
}
