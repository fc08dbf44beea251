/**
 * Scenario 12: the sizing guide, computed from this run's CPU per refresh
 * (scenario 9) and bytes per family (scenario 5) for each of Supabase's
 * compute sizes, bounded by CPU and by memory.
 */
import { fixed, int, table } from "./report-format.ts";
import type { Scenarios } from "./results.ts";

/** Supabase's compute sizes (supabase.com/docs/guides/platform/compute-and-disk, read 2026-11-30). */
const COMPUTE = [
  { name: "Micro", cores: 2, cpu: "2-core ARM (shared)", memoryGb: 1 },
  { name: "Small", cores: 2, cpu: "2-core ARM (shared)", memoryGb: 2 },
  { name: "Medium", cores: 2, cpu: "2-core ARM (shared)", memoryGb: 4 },
  { name: "Large", cores: 2, cpu: "2-core ARM (dedicated)", memoryGb: 8 },
  { name: "XL", cores: 4, cpu: "4-core ARM (dedicated)", memoryGb: 16 },
  { name: "2XL", cores: 8, cpu: "8-core ARM (dedicated)", memoryGb: 32 },
  { name: "4XL", cores: 16, cpu: "16-core ARM (dedicated)", memoryGb: 64 },
  { name: "8XL", cores: 32, cpu: "32-core ARM (dedicated)", memoryGb: 128 },
];
/** Share of a compute size's memory the live families may take (the app's own data needs the rest). */
const MEMORY_SHARE = 0.25;
/** Default SESSION_ACCESS_TTL: an active client refreshes once per this many seconds. */
const ACCESS_TTL = 600;
/** Sizing assumptions: each daily user is active this many hours a day, and the busiest hour carries this multiple of the mean. */
const ACTIVE_HOURS = 1;
const PEAK_FACTOR = 3;
/** Daily active users served per sustained refresh/s: R × TTL users refreshing at once at peak, DAU × h/24 × peak = that. */
const DAU_PER_REFRESH_PER_SECOND = (ACCESS_TTL * 24) / (ACTIVE_HOURS * PEAK_FACTOR);

/** Scenario 12: refreshes/s and daily active users per compute size, by CPU and by memory. */
export function sizingSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const { peers } = scenarios;
  const postgresUs = peers?.medians.noble.postgresCpuUs;
  const storage = scenarios.storage;
  const bytesPerFamily = storage ? storage.afterMany.vacuumed.totalBytes / storage.families : 370;
  if (peers && postgresUs && Number.isFinite(postgresUs)) {
    const perVcpu = 1e6 / postgresUs;
    const functionMs = peers.medians.noble.serverCpuUs / 1000;
    out.push(
      "### 12. Sizing guide (computed from this run)",
      "",
      `Postgres spends **${int(postgresUs)} µs of CPU per refresh** (all its processes: the rotation, WAL, checkpoints, ` +
        `autovacuum), so one Postgres vCPU sustains about **${int(perVcpu)} refreshes/s**; the function spends ` +
        `**${fixed(functionMs)} ms of CPU per refresh** (one isolate ≈ ${int(1000 / functionMs)} refreshes/s; Supabase ` +
        "runs as many isolates as the load needs). At the default access-token lifetime " +
        `(${ACCESS_TTL} s) an active client refreshes once per ${ACCESS_TTL / 60} minutes; assuming each daily user is ` +
        `active ${ACTIVE_HOURS} hour a day and the busiest hour carries ${PEAK_FACTOR}× the mean, one sustained ` +
        `refresh/s serves about ${int(DAU_PER_REFRESH_PER_SECOND)} daily active users. Compute sizes from Supabase's ` +
        "[Compute and Disk](https://supabase.com/docs/guides/platform/compute-and-disk) page; this machine's cores are " +
        "x86 (see Machine below), Supabase's are ARM, and the shared sizes below Large burst rather than sustain, so read these " +
        "as upper bounds.",
      "",
      `Two bounds per size: CPU (the refreshes/s above at 70 % of the cores) and memory: a refresh is a random ` +
        `primary-key lookup, so the live families should stay cached; at ${int(bytesPerFamily)} bytes per family ` +
        `(table and indexes, scenario 5) and a quarter of the memory for them, with one session per daily user. ` +
        "The smaller bound is what the size serves. Refreshes only: the app's own queries share the database.",
      "",
      table(
        [
          "compute size",
          "CPU",
          "memory",
          "refreshes/s at 70 % CPU",
          "DAU by CPU",
          "families in ¼ of memory",
          "DAU served",
        ],
        COMPUTE.map((c) => {
          const rate = perVcpu * c.cores * 0.7;
          const byCpu = rate * DAU_PER_REFRESH_PER_SECOND;
          const byMemory = (c.memoryGb * 2 ** 30 * MEMORY_SHARE) / bytesPerFamily;
          return [
            c.name,
            c.cpu,
            `${c.memoryGb} GB`,
            int(rate),
            int(byCpu),
            int(byMemory),
            `**${int(Math.min(byCpu, byMemory))}** (${byCpu < byMemory ? "CPU" : "memory"})`,
          ];
        }),
      ),
      "",
    );
  }
  return out;
}
