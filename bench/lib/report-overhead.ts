/**
 * Scenario 11: the function's CPU per refresh without the signature against the
 * select-1 baseline (bench/scenarios/overhead.ts), and where it goes.
 */
import { PART_LABELS, PARTS } from "./cpu-profile.ts";
import { fixed, int, table } from "./report-format.ts";
import type { Scenarios } from "./results.ts";

/** Scenario 11: CPU per refresh against the select-1 baseline, and the profile's parts side by side. */
export function overheadSection({ overhead: o }: Scenarios): string[] {
  if (!o) return [];
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
