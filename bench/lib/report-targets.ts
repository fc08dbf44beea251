/**
 * The targets each figure of a run is judged against: the rows of the Targets table at
 * the top of the generated BENCHMARKS.md and of the results file.
 */
import { short } from "./report-format.ts";
import type { Scenarios, TargetRow } from "./results.ts";

/** Every target of the run, in report order. */
export function judge(s: Scenarios): TargetRow[] {
  const rows: TargetRow[] = [];
  const at = (scenario: string, figure: string, value: number, target: string, met: (v: number) => boolean) =>
    rows.push({ scenario, figure, value, target, met: Number.isFinite(value) && met(value) });
  const atLeast = (min: number) => (v: number) => v >= min;
  const atMost = (max: number) => (v: number) => v <= max;
  for (const l of s.database?.levels ?? []) {
    at("1 database", `rotations ÷ single-row inserts, ${l.clients} client${l.clients > 1 ? "s" : ""}`, l.ratio, "≥ 0.6", atLeast(0.6));
  }
  for (const l of s.http?.levels ?? []) {
    at("2 http", `refresh ÷ select-1 baseline, ${l.connections} conn.`, l.ratio, "≥ 0.5", atLeast(0.5));
  }
  for (const l of s.http?.levels ?? []) {
    at("2 http", `refresh p99 ÷ p50, ${l.connections} conn.`, l.tail, "< 10", (v) => v < 10);
  }
  // Scenario 3's in-memory oidc-provider skips durable writes and the signature: reported, not a target.
  if (s.rls) at("4 rls", "helper policy ÷ plain policy (median)", s.rls.ratio, "≤ 1.1", atMost(1.1));
  if (s.storage) {
    at("5 storage", `bytes after ${s.storage.rotations} ÷ after 1 rotation (vacuumed)`, s.storage.growth, "≤ 1.1 (O(1))", atMost(1.1));
  }
  if (s.growth) {
    const { phases } = s.growth;
    const sizes = `${short(phases[phases.length - 1].live)} ÷ ${short(phases[0].live)} live`;
    at("7 growth", `rotations/s, ${sizes}`, s.growth.rotateRatio, "≥ 0.9", atLeast(0.9));
    at("7 growth", `refresh p99, ${sizes}`, s.growth.p99Ratio, "≤ 1.25", atMost(1.25));
    for (const p of phases) {
      const ratio = p.refreshWithPurge.latencyMs.p99 / p.refresh.latencyMs.p99;
      at("7 growth", `refresh p99 with purge ÷ without, ${short(p.live)} live`, ratio, "≤ 1.25", atMost(1.25));
    }
  }
  if (s.peers) {
    const peer = "oidc-provider (Postgres, JWT)";
    at("9 peers", `refresh ÷ ${peer} req/s, 32 conn., median of ${s.peers.rounds.length}`, s.peers.ratios.rpsVsProduction, "≥ 1.5", atLeast(1.5));
    at("9 peers", `refresh p99 ÷ ${peer} p99, 32 conn.`, s.peers.ratios.p99VsProduction, "< 1 (lower p99)", (v) => v < 1);
  }
  if (s.overhead) {
    at(
      "11 overhead",
      "function CPU per refresh without the signature ÷ select-1 baseline CPU per request, 32 conn., median of " +
        `${s.overhead.rounds.length} alternating rounds`,
      s.overhead.ratio,
      "≤ 1.5",
      atMost(1.5),
    );
  }
  return rows;
}
