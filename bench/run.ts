/**
 * `npm run bench`: every benchmark in one run, each figure a ratio against a baseline
 * measured in the same run on the same machine.
 *
 *   npm run bench [-- --quick] [--wait-quiet] [--render results.json] [--only a,b] [--out DIR] [--pg 15|17] [--shared-buffers 1GB]
 *
 * Writes <out>/bench/results/<date>.json and regenerates <out>/BENCHMARKS.md below its
 * hand-written introduction. The default out is the repository (a --quick run:
 * .local/bench-quick). `--render <results.json>` only regenerates BENCHMARKS.md from a
 * results file. oidc-provider runs only in the peers scenario: `--only peers`, or all.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Context, FULL, QUICK } from "./lib/context.ts";
import { type BenchDatabase, startBenchDatabase } from "./lib/database.ts";
import { elapsedSeconds, progress, sleep } from "./lib/log.ts";
import { describeMachine, type Machine } from "./lib/machine.ts";
import { findPgbench } from "./lib/pgbench.ts";
import { repoRoot } from "../scripts/lib/process.ts";
import { GENERATED_MARKER, renderMarkdown } from "./lib/report.ts";
import { judge } from "./lib/report-targets.ts";
import type { Results, Scenarios } from "./lib/results.ts";
import { runCosts } from "./scenarios/costs.ts";
import { runDatabase } from "./scenarios/database.ts";
import { runGrowth } from "./scenarios/growth.ts";
import { runHttp } from "./scenarios/http.ts";
import { runOverhead } from "./scenarios/overhead.ts";
import { runPeers } from "./scenarios/peers.ts";
import { runRls } from "./scenarios/rls.ts";
import { runStorage } from "./scenarios/storage.ts";

/** Run order: small and quiet first, the 11-million-row growth load last. */
const RUNNERS = {
  storage: runStorage,
  database: runDatabase,
  rls: runRls,
  http: runHttp,
  peers: runPeers,
  costs: runCosts,
  overhead: runOverhead,
  growth: runGrowth,
} satisfies { [name in keyof Scenarios]-?: (ctx: Context) => Promise<Scenarios[name]> };
type Name = keyof typeof RUNNERS;
const SCENARIOS = Object.keys(RUNNERS) as Name[];

interface Options {
  quick: boolean;
  /** Wait (up to 15 min) for the 1-minute load average to drop below 0.7 before starting. */
  waitQuiet: boolean;
  /** Only regenerate BENCHMARKS.md from this results file. */
  render: string;
  only: Name[];
  out: string;
  pg: 15 | 17;
  /**
   * shared_buffers, default 1GB: what Supabase gives a 4 GB Medium (about a quarter of
   * memory: gist egor-romanov/323e2847851bbd758081511785573c08, Supabase's 2023 pgvector
   * benchmarks). `--shared-buffers 128MB` measures PostgreSQL's own default.
   */
  sharedBuffers: string;
}

function optionsFrom(args: string[]): Options {
  const { values: v } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      "wait-quiet": { type: "boolean", default: false },
      render: { type: "string", default: "" },
      only: { type: "string", default: SCENARIOS.join(",") },
      out: { type: "string", default: "" },
      pg: { type: "string", default: "17" },
      "shared-buffers": { type: "string", default: "1GB" },
    },
  });
  const only = v.only.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = only.find((name) => !(SCENARIOS as string[]).includes(name));
  if (unknown) throw new Error(`--only: unknown scenario "${unknown}" (known: ${SCENARIOS.join(", ")})`);
  if (v.pg !== "15" && v.pg !== "17") throw new Error("--pg must be 15 or 17");
  if (!/^[0-9]+(kB|MB|GB)$/.test(v["shared-buffers"])) {
    throw new Error(`--shared-buffers: a size such as 128MB or 1GB, not "${v["shared-buffers"]}"`);
  }
  return {
    quick: v.quick,
    waitQuiet: v["wait-quiet"],
    render: v.render && path.resolve(v.render),
    only: SCENARIOS.filter((name) => only.includes(name)),
    out: v.out ? path.resolve(v.out) : v.quick ? path.join(repoRoot, ".local", "bench-quick") : repoRoot,
    pg: Number(v.pg) as 15 | 17,
    sharedBuffers: v["shared-buffers"],
  };
}

/** Other work on the machine skews every figure: wait for it to calm down. */
async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  while (os.loadavg()[0] >= 0.7 && Date.now() < deadline) {
    progress("setup", `waiting for a quiet machine (1-minute load average ${os.loadavg()[0].toFixed(2)})`);
    await sleep(15_000);
  }
}

function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** The hand-written part of BENCHMARKS.md: from the output's own file, else the repository's. */
async function intro(out: string): Promise<string> {
  for (const file of [path.join(out, "BENCHMARKS.md"), path.join(repoRoot, "BENCHMARKS.md")]) {
    const text = await readFile(file, "utf8").catch(() => null);
    if (text === null) continue;
    const at = text.indexOf(GENERATED_MARKER);
    return (at >= 0 ? text.slice(0, at) : text).trimEnd() + "\n\n";
  }
  return "# Benchmarks\n\n";
}

/** Writes the results file (unless rendering an existing one) and BENCHMARKS.md. */
async function writeReport(results: Results, out: string, writeJson: boolean) {
  const resultsDir = path.join(out, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const jsonPath = path.join(resultsDir, `${results.date}${results.quick ? "-quick" : ""}.json`);
  if (writeJson) await writeFile(jsonPath, JSON.stringify(results, null, 2) + "\n");
  const markdownPath = path.join(out, "BENCHMARKS.md");
  const json = path.relative(out, jsonPath).split(path.sep).join("/");
  await writeFile(markdownPath, (await intro(out)) + renderMarkdown(results, json));
  return { jsonPath, markdownPath };
}

async function main(): Promise<number> {
  const options = optionsFrom(process.argv.slice(2));
  if (options.render) {
    const results = JSON.parse(await readFile(options.render, "utf8")) as Results;
    if (results.format !== 2) throw new Error(`${options.render}: results format ${results.format}; this report reads 2`);
    const { markdownPath } = await writeReport(results, options.out, false);
    progress("report", `rendered ${path.relative(process.cwd(), markdownPath)} from ${options.render}`);
    return 0;
  }
  const scale = options.quick ? QUICK : FULL;
  if (options.waitQuiet) await waitForQuiet();
  const loadBefore = os.loadavg();
  const startedAt = new Date();
  const startedSeconds = elapsedSeconds();
  progress("setup", `${options.quick ? "quick" : "full"} run: ${options.only.join(", ")}`);
  const pgbench = await findPgbench();
  progress("setup", `starting a throwaway PostgreSQL ${options.pg} with durable commits`);
  const db: BenchDatabase = await startBenchDatabase(options.pg, options.sharedBuffers);
  let stopping = false;
  const interrupt = async () => {
    if (stopping) return;
    stopping = true;
    progress("setup", "interrupted: stopping the database");
    await db.stop().catch(() => {});
    process.exit(130);
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  const scenarios: Scenarios = {};
  const failures: Record<string, string> = {};
  let machine: Machine | undefined;
  try {
    machine = await describeMachine(pgbench, db);
    progress("setup", `PostgreSQL ${db.version}, ${Object.entries(db.settings).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    const ctx: Context = { quick: options.quick, scale, db, pgbench };
    for (const name of options.only) {
      const started = elapsedSeconds();
      try {
        (scenarios as Record<Name, unknown>)[name] = await RUNNERS[name](ctx);
        progress(name, `done in ${Math.round(elapsedSeconds() - started)} s`);
      } catch (error) {
        failures[name] = error instanceof Error ? error.stack ?? error.message : String(error);
        progress(name, `FAILED: ${failures[name]}`);
      }
    }
  } finally {
    await db.stop();
  }

  if (!machine) throw new Error("no machine description");
  const date = today();
  const results: Results = {
    format: 2,
    date,
    startedAt: startedAt.toISOString(),
    quick: options.quick,
    durationSeconds: elapsedSeconds() - startedSeconds,
    loadAverage: { start: loadBefore, end: os.loadavg() },
    machine,
    scenarios,
    failures,
    targets: judge(scenarios),
  };
  const { jsonPath, markdownPath } = await writeReport(results, options.out, true);

  progress("report", `wrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), markdownPath)}`);
  for (const t of results.targets) {
    progress("report", `${t.met ? "met   " : "MISSED"} ${t.scenario}: ${t.figure} = ${t.value.toFixed(2)} (${t.target})`);
  }
  return Object.keys(failures).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : error}`);
    process.exit(1);
  },
);
