/**
 * The report's sections on the database alone: scenario 1 (rotations against the
 * durable-commit limit, and where a rotation's server time goes), scenario 4 (the
 * revocation helper in an RLS policy) and scenario 5 (storage per family).
 */
import { fixed, int, kib, table } from "./report-format.ts";
import type { RotationPart, Scenarios, Sizes } from "./results.ts";

const PART_LABELS: Readonly<Record<RotationPart, string>> = {
  commit: "an empty transaction",
  insert: "single-row insert (the baseline's statement)",
  rotateSession: "a rotation, whole (`refresh_session`, limits off; `rotate_session` until 2026-12-07)",
  argumentChecks: "argument checks one by one (6 × `require`, 1 × `require_user_agent`)",
  requestContext: "`set_request_context` (2 × `set_config`)",
  lockRow: "`select … for update` of the family",
  updateRow: "the family's row update, guard trigger on",
  updateRowNoTrigger: "the same update, triggers off",
};

/** Scenario 1: pgbench rotations against single-row inserts, and a rotation's parts. */
export function databaseSection({ database: d }: Scenarios): string[] {
  if (!d) return [];
  return [
    "### 1. Database: rotations against the durable-commit limit",
    "",
    `pgbench, prepared statements, ${d.levels[0]?.insert.seconds ?? "?"} s per run, ${int(d.families)} families; ` +
    "each client rotates only its own families. Baseline: one single-row insert per transaction on the same server.",
    "",
    table(
      ["clients", "inserts/s", "rotations/s", "ratio (≥ 0.6)", "insert latency", "rotation latency"],
      d.levels.map((l) => [
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
    table(["part", "µs"], Object.entries(PART_LABELS).map(([part, label]) => [label, fixed(d.parts[part as RotationPart], 1)])),
    "",
  ];
}

/** Scenario 4: `select count(*)` under the helper policy against a plain one. */
export function rlsSection({ rls }: Scenarios): string[] {
  if (!rls) return [];
  const contrast = { plain: "", guarded: "", plpgsql: "(contrast, bench-only PL/pgSQL twin) ", unwrapped: `(contrast, ${rls.unwrappedRuns} runs) ` };
  return [
    "### 4. RLS: the instant-revocation helper in a policy",
    "",
    `\`select count(*)\` over ${int(rls.rows)} rows of one user, as \`authenticated\` with \`request.jwt.claims\` set; ` +
    `${rls.rounds} rounds, the variants in random order each round. Ratio of medians, helper ÷ plain: ` +
    `**${fixed(rls.ratio, 3)}** (target ≤ 1.1); with the PL/pgSQL twin: ${
      fixed(rls.variants.plpgsql.medianMs / rls.variants.plain.medianMs, 3)
    }.`,
    "",
    table(
      ["policy", "median", "p90", "rows (live session)", "rows (after revoke)", "helper calls per select"],
      (Object.keys(contrast) as (keyof typeof contrast)[]).map((name) => {
        const v = rls.variants[name];
        return [
          `${contrast[name]}\`${v.policy}\``,
          `${fixed(v.medianMs, 3)} ms`,
          `${fixed(v.p90Ms, 3)} ms`,
          int(v.rowsLive),
          int(v.rowsRevoked),
          v.helperCalls === null ? "–" : int(v.helperCalls),
        ];
      }),
    ),
    "",
  ];
}

/** Scenario 5: bytes per family after one and after many rotations, raw and vacuumed. */
export function storageSection({ storage: st }: Scenarios): string[] {
  if (!st) return [];
  const row = (label: string, s: Sizes) => [
    label,
    kib(s.tableBytes),
    kib(s.indexBytes),
    kib(s.totalBytes),
    `${int(s.totalBytes / st.families)} B`,
    int(s.deadTuples),
    int(s.events),
  ];
  return [
    "### 5. Storage per family (P6)",
    "",
    `\`sessionguard.families\` with ${int(st.families)} families; each round rotates every family once on one ` +
    "connection, committing every 20. Raw = as left by normal operation (autovacuum on); vacuumed = after a plain `VACUUM`.",
    "",
    table(["state", "table", "indexes", "total", "per family", "dead tuples (approx.)", "rows in events"], [
      row("started, 0 rotations", st.fresh),
      row("1 rotation, raw", st.afterOne.raw),
      row("1 rotation, vacuumed", st.afterOne.vacuumed),
      row(`${st.rotations} rotations, raw`, st.afterMany.raw),
      row(`${st.rotations} rotations, vacuumed`, st.afterMany.vacuumed),
    ]),
    "",
    `Total bytes along the way (raw): ${st.checkpoints.map((c) => `${c.rotations}: ${kib(c.raw.totalBytes)}`).join(", ")}.`,
    "",
  ];
}
