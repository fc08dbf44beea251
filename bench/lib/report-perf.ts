/**
 * The parts of the report added for issue 17: the production peer (scenario 9),
 * the signer before and after, the function's CPU without the signature against
 * the select-1 baseline and where the rest goes, the growth scenario's cold and
 * steady states, and the sizing guide computed from this run's figures.
 */
import type { OverheadResult } from "../scenarios/overhead.ts";
import { PART_LABELS, PARTS } from "./cpu-profile.ts";
import type { Scenarios, TargetRow } from "./report.ts";

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–");
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

/**
 * The function's CPU per refresh at 32 connections with and without the
 * signature, against the select-1 baseline's CPU per request, and its parts
 * (all µs of Deno CPU, each measured in this run).
 */
export function functionOverhead(scenarios: Scenarios) {
  const { peers, http, costs } = scenarios;
  const baseline = http?.levels.find((l) => l.connections === 32)?.baseline.cpuUsPerRequest.server;
  const m = costs?.micro;
  if (!peers || baseline === undefined || !m?.es256Noble?.cpu || !m.rotatePrepared?.cpu) return null;
  const perRefresh = peers.medians.noble.serverCpuUs;
  const signature = m.es256Noble.cpu;
  const withoutSignature = perRefresh - signature;
  const mac = (m.macVerify.cpu ?? NaN) + (m.macMint.cpu ?? NaN);
  const busy = m.clientCpuBusy;
  const sqlClient = busy ? busy.rotatePrepared - busy.selectOnePrepared : NaN;
  const json = m.json.cpu ?? NaN;
  const rest = withoutSignature - baseline - mac - sqlClient - json;
  return { perRefresh, signature, withoutSignature, baseline, mac, sqlClient, json, rest };
}

/** Targets of scenario 9 and of the function's overhead. */
export function judgePerf(scenarios: Scenarios, rows: TargetRow[]): void {
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
export const DAU_PER_REFRESH_PER_SECOND = (ACCESS_TTL * 24) / (ACTIVE_HOURS * PEAK_FACTOR);

export function renderPerf(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const { peers, costs, growth } = scenarios;
  if (peers) {
    const names = {
      noble: "sessionguard, noble signer",
      webcrypto: "sessionguard, WebCrypto signer",
      production: "oidc-provider, Postgres + ES256 JWT",
      memory: "oidc-provider, in memory, opaque",
    } as const;
    out.push(
      "### 9. Peers: oidc-provider configured for production, alternating rounds",
      "",
      `${peers.connections} keep-alive connections, ${peers.seconds} s per run, ${peers.rounds.length} rounds; ` +
        "the four servers are loaded one at a time and the order rotates every round. Medians over rounds; ratios are " +
        "medians of the per-round ratios. The production peer keeps its tokens in Postgres (bench/peer/pg-adapter.ts, " +
        "durable commits on the same cluster), rotates on every refresh and signs an ES256 JWT access token for a " +
        "resource server each time (resource indicators, `accessTokenFormat: 'jwt'`). The in-memory peer skips both: " +
        "nothing it writes is durable, its access token is an opaque random string.",
      "",
      table(
        ["server", "req/s", "p50", "p99", "server CPU / req", "Postgres CPU / req"],
        (Object.keys(names) as (keyof typeof names)[]).map((name) => {
          const m = peers.medians[name];
          return [
            names[name],
            int(m.rps),
            `${fixed(m.p50)} ms`,
            `${fixed(m.p99)} ms`,
            `${int(m.serverCpuUs)} µs`,
            `${int(m.postgresCpuUs)} µs`,
          ];
        }),
      ),
      "",
      `sessionguard ÷ production peer: **${fixed(peers.ratios.rpsVsProduction)}× req/s**, p99 ${
        fixed(peers.ratios.p99VsProduction)
      }×; ÷ in-memory peer ${fixed(peers.ratios.rpsVsMemory)}×; noble ÷ WebCrypto signer ${
        fixed(peers.ratios.nobleVsWebcrypto)
      }× req/s. Per round (req/s): ${
        peers.rounds.map((r, i) =>
          `${i + 1}: ${int(r.noble.rps)} / ${int(r.webcrypto.rps)} / ${int(r.production.rps)} / ${int(r.memory.rps)}`
        ).join("; ")
      } (noble / WebCrypto / production / memory).`,
      "",
      "SQL per refresh, counted on the wire by a proxy (statements = Execute or simple Query messages, parses = Parse " +
        "messages) and commits from `pg_stat_database.xact_commit` (the last in-flight requests of a run make these a " +
        "little over the true value):",
      "",
      table(
        ["side", "refreshes counted", "statements", "parses", "commits"],
        [
          ["sessionguard, prepared (`SESSION_DB_PREPARE=on`, what `auto` picks on a direct URL)", peers.sql.ours],
          ["sessionguard, unprepared (transaction pooler)", peers.sql.oursUnprepared],
          ["oidc-provider, Postgres adapter", peers.sql.production],
        ].map(([label, c]) => {
          const counts = c as typeof peers.sql.ours;
          return [
            label as string,
            int(counts.refreshes),
            fixed(counts.statements),
            fixed(counts.parses),
            fixed(counts.commits),
          ];
        }),
      ),
      "",
    );
  }

  const m = costs?.micro;
  if (m?.es256Noble && m.es256Webcrypto) {
    out.push(
      "### 10. Signer and prepared statements, before and after",
      "",
      table(
        ["", "before", "after", "after ÷ before"],
        [
          [
            "ES256 signature, µs: p50 wall (mean CPU)",
            `${int(m.es256Webcrypto.p50)} (${int(m.es256Webcrypto.cpu ?? NaN)}) WebCrypto`,
            `${int(m.es256Noble.p50)} (${int(m.es256Noble.cpu ?? NaN)}) noble`,
            `${fixed(m.es256Noble.p50 / m.es256Webcrypto.p50)} (${
              fixed((m.es256Noble.cpu ?? NaN) / (m.es256Webcrypto.cpu ?? NaN))
            })`,
          ],
          ...(peers
            ? [[
              "function CPU per refresh at 32 conn., µs",
              `${int(peers.medians.webcrypto.serverCpuUs)} WebCrypto`,
              `${int(peers.medians.noble.serverCpuUs)} noble`,
              fixed(peers.medians.noble.serverCpuUs / peers.medians.webcrypto.serverCpuUs),
            ]]
            : []),
          ...(m.rotatePrepared
            ? [[
              "`refresh_session` round trip, µs: p50 wall (client CPU, 64 in flight)",
              `${int(m.rotate.p50)} (${int(m.clientCpuBusy?.rotateUnprepared ?? NaN)}) unprepared`,
              `${int(m.rotatePrepared.p50)} (${int(m.clientCpuBusy?.rotatePrepared ?? NaN)}) prepared`,
              `${fixed(m.rotatePrepared.p50 / m.rotate.p50)} (${
                fixed((m.clientCpuBusy?.rotatePrepared ?? NaN) / (m.clientCpuBusy?.rotateUnprepared ?? NaN))
              })`,
            ]]
            : []),
        ],
      ),
      "",
      "Signatures alternate between the two implementations in the same Deno process; the rotations alternate between " +
        "two pools on the same durable database. Medians, not means: on a busy machine a mean is mostly the time the " +
        "process waited for a core.",
      "",
    );
  }

  const overhead = functionOverhead(scenarios);
  if (scenarios.overhead) out.push(...renderOverhead(scenarios.overhead));
  else if (overhead) {
    const o = overhead;
    out.push(
      "### 11. The function's CPU per refresh without the signature",
      "",
      table(
        ["part", "µs of Deno CPU per refresh", "measured as"],
        [
          ["whole refresh", int(o.perRefresh), "scenario 9, noble signer, 32 connections, median"],
          ["− ES256 signature (noble)", int(o.signature), "scenario 10, CPU per signature"],
          ["= without the signature", int(o.withoutSignature), `**${fixed(o.withoutSignature / o.baseline)}×** the baseline (target ≤ 1.5×)`],
          ["select-1 baseline, whole request", int(o.baseline), "scenario 2, `Deno.serve` + one `select 1`, 32 connections"],
          ["refresh-token MAC (verify + mint)", fixed(o.mac, 1), "scenario 8, CPU per call"],
          [
            "postgres.js: `refresh_session` beyond `select 1`",
            fixed(o.sqlClient, 1),
            "client CPU per call with 64 calls in flight, prepared, difference",
          ],
          ["JSON", fixed(o.json, 1), "parse the body, build the answer"],
          [
            "rest: the handler",
            int(o.rest),
            "routing, input checks, request facts, DPoP header check, response headers, CORS, logging, " +
              "and the larger request and response bodies",
          ],
        ],
      ),
      "",
    );
  }

  if (growth?.phases.some((p) => p.steadyStats)) {
    out.push(
      "### 7b. Growth: cold against steady state",
      "",
      "pgbench rotations, 32 clients. Cold: right after the bulk load and a CHECKPOINT. Steady: after VACUUM, CHECKPOINT " +
        "and a warm-up of rotations, no checkpoint in between (the targets use steady state). Per rotation, from " +
        "pg_stat_wal and pg_stat_database:",
      "",
      table(
        [
          "live",
          "state",
          "rotations/s",
          "full-page images",
          "WAL records",
          "WAL bytes",
          "HOT updates",
          "blocks read",
          "buffer miss ratio",
        ],
        growth.phases.flatMap((p) =>
          [
            ["cold", p.rotateCold, p.coldStats],
            ["steady", p.rotate, p.steadyStats],
          ].filter(([, r, s]) => r && s).map(([state, r, s]) => {
            const run = r as NonNullable<typeof p.rotateCold>;
            const stats = s as NonNullable<typeof p.coldStats>;
            return [
              int(p.live),
              state as string,
              int(run.tps),
              fixed(stats.fullPageImages),
              fixed(stats.walRecords, 1),
              int(stats.walBytes),
              stats.hotShare === undefined ? "–" : fixed(stats.hotShare * 100, 0) + " %",
              fixed(stats.blocksRead),
              fixed(stats.missRatio * 100, 1) + " %",
            ];
          })
        ),
      ),
      "",
    );
  }

  // Sizing guide: from this run's CPU per refresh.
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

/** Scenario 11: CPU per refresh against the select-1 baseline, and the profile's parts side by side. */
function renderOverhead(o: OverheadResult): string[] {
  const { refresh, baseline } = o.profiled;
  const us = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : int(n)) : "–");
  return [
    "### 11. The function's CPU per refresh without the signature, and where it goes",
    "",
    `${o.connections} keep-alive connections, ${o.seconds} s per run, ${o.rounds.length} alternating rounds of the ` +
      "session function (`POST /refresh`, default settings) and the select-1 baseline (`Deno.serve` reading the body " +
      "and answering after one `select 1` through postgres.js with the function's pool settings). CPU from " +
      "/proc: the whole process, and its JavaScript thread alone. Medians over rounds.",
    "",
    table(
      ["", "refresh", "select-1 baseline", "refresh ÷ baseline"],
      [
        ["req/s", int(o.refresh.rps), int(o.baseline.rps), fixed(o.refresh.rps / o.baseline.rps)],
        [
          "CPU per request, µs (JavaScript thread)",
          `${int(o.refresh.process)} (${int(o.refresh.mainThread)})`,
          `${int(o.baseline.process)} (${int(o.baseline.mainThread)})`,
          fixed(o.refresh.process / o.baseline.process),
        ],
        ["− access-token signature, µs", int(o.signatureUs), "–", ""],
        [
          "= without the signature, µs",
          int(o.withoutSignatureUs),
          int(o.baseline.process),
          `**${fixed(o.ratio)}×** (target ≤ 1.5×)`,
        ],
      ],
    ),
    "",
    "Where the JavaScript thread's CPU goes: one more run of each server under V8's sampling profiler " +
      "(`deno run --cpu-prof`, which itself costs some CPU). Each sample of the loaded window is charged to the " +
      "innermost frame of the stack that is our code or a library (bench/lib/cpu-profile.ts); a part's µs is its " +
      "share of the busy samples times the thread's measured CPU per request in that run. The sampler fires on wall " +
      "time, so on a busy machine a sample taken while the thread waits for a core counts for what was on its stack; " +
      "native work outside JavaScript (Deno's HTTP server in Rust) is `(program)` or idle, so its CPU is spread " +
      "over the parts in proportion.",
    "",
    table(
      ["part", "refresh, µs per request", "baseline, µs per request"],
      [
        ...PARTS.map((part) => [PART_LABELS[part], us(refresh.parts[part]), us(baseline.parts[part])]),
        ["= JavaScript thread", us(refresh.mainThread), us(baseline.mainThread)],
        [
          "+ other threads (V8's background GC and compiler, the blocking pool WebCrypto uses, the profiler)",
          us(refresh.process - refresh.mainThread),
          us(baseline.process - baseline.mainThread),
        ],
        ["= process (profiled run)", us(refresh.process), us(baseline.process)],
      ],
    ),
    "",
  ];
}
