/**
 * Scenario 11: the function's CPU per refresh without the signature against
 * the select-1 baseline, and where it goes. Runs since 2026-11-30's second
 * round measure it directly (bench/scenarios/overhead.ts); older results
 * compute it from scenarios 2, 8, 9 and 10 (`functionOverhead`).
 */
import type { OverheadResult } from "../scenarios/overhead.ts";
import { PART_LABELS, PARTS } from "./cpu-profile.ts";
import { fixed, int, table } from "./report-format.ts";
import type { Scenarios } from "./report.ts";

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

/** Scenario 11, measured (renderOverhead) or, for older results, computed (functionOverhead). */
export function overheadSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
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
