/**
 * The targets each figure of a run is judged against (issue 6's scenarios 1-7,
 * then scenario 9's production peer and the function's overhead): the rows of
 * the Targets table at the top of the generated BENCHMARKS.md and of the
 * results file.
 */
import { functionOverhead } from "./report-overhead.ts";
import { short } from "./report-format.ts";
import type { Scenarios, TargetRow } from "./report.ts";

/** Every target of the run, in report order. */
export function judge(scenarios: Scenarios): TargetRow[] {
  const rows: TargetRow[] = [];
  const at = (scenario: string, figure: string, value: number, target: string, met: (v: number) => boolean) =>
    rows.push({ scenario, figure, value, target, met: Number.isFinite(value) && met(value) });
  for (const level of scenarios.database?.levels ?? []) {
    at(
      "1 database",
      `rotations ÷ single-row inserts, ${level.clients} client${level.clients > 1 ? "s" : ""}`,
      level.ratio,
      "≥ 0.6",
      (v) => v >= 0.6,
    );
  }
  for (const level of scenarios.http?.levels ?? []) {
    at(
      "2 http",
      `refresh ÷ select-1 baseline, ${level.connections} conn.`,
      level.ratio,
      "≥ 0.5",
      (v) => v >= 0.5,
    );
  }
  for (const level of scenarios.http?.levels ?? []) {
    at("2 http", `refresh p99 ÷ p50, ${level.connections} conn.`, level.tail, "< 10", (v) => v < 10);
  }
  // Scenario 3's in-memory oidc-provider skips durable writes and the signature: reported, not a target.
  // The peer target is against oidc-provider configured for production (scenario 9, judgePerf below).
  if (scenarios.rls) {
    at("4 rls", "helper policy ÷ plain policy (median)", scenarios.rls.ratio, "≤ 1.1", (v) => v <= 1.1);
  }
  if (scenarios.storage) {
    at(
      "5 storage",
      `bytes after ${scenarios.storage.rotations} ÷ after 1 rotation (vacuumed)`,
      scenarios.storage.growth,
      "≤ 1.1 (O(1))",
      (v) => v <= 1.1,
    );
  }
  if (scenarios.growth) {
    const { phases } = scenarios.growth;
    const sizes = `${short(phases[phases.length - 1].live)} ÷ ${short(phases[0].live)} live`;
    at("7 growth", `rotations/s, ${sizes}`, scenarios.growth.rotateRatio, "≥ 0.9", (v) => v >= 0.9);
    at("7 growth", `refresh p99, ${sizes}`, scenarios.growth.p99Ratio, "≤ 1.25", (v) => v <= 1.25);
    for (const phase of phases) {
      at(
        "7 growth",
        `refresh p99 with purge ÷ without, ${short(phase.live)} live`,
        phase.refreshWithPurge.latencyMs.p99 / phase.refresh.latencyMs.p99,
        "≤ 1.25",
        (v) => v <= 1.25,
      );
    }
  }
  judgePerf(scenarios, rows);
  return rows;
}

/** Targets of scenario 9 and of the function's overhead. */
function judgePerf(scenarios: Scenarios, rows: TargetRow[]): void {
  const at = (scenario: string, figure: string, value: number, target: string, met: (v: number) => boolean) =>
    rows.push({ scenario, figure, value, target, met: Number.isFinite(value) && met(value) });
  const { peers } = scenarios;
  if (peers) {
    at(
      "9 peers",
      `refresh ÷ oidc-provider (Postgres, JWT) req/s, 32 conn., median of ${peers.rounds.length}`,
      peers.ratios.rpsVsProduction,
      "≥ 1.5",
      (v) => v >= 1.5,
    );
    at(
      "9 peers",
      "refresh p99 ÷ oidc-provider (Postgres, JWT) p99, 32 conn.",
      peers.ratios.p99VsProduction,
      "< 1 (lower p99)",
      (v) => v < 1,
    );
  }
  const overhead = functionOverhead(scenarios);
  if (scenarios.overhead) {
    at(
      "11 overhead",
      "function CPU per refresh without the signature ÷ select-1 baseline CPU per request, 32 conn., median of " +
        `${scenarios.overhead.rounds.length} alternating rounds`,
      scenarios.overhead.ratio,
      "≤ 1.5",
      (v) => v <= 1.5,
    );
  } else if (overhead) {
    at(
      "8 costs",
      "function CPU per refresh without the signature ÷ select-1 baseline CPU per request, 32 conn.",
      overhead.withoutSignature / overhead.baseline,
      "≤ 1.5",
      (v) => v <= 1.5,
    );
  }
}
