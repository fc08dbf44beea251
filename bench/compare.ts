/**
 * Before and after a change to the session function, with scenario 11's own
 * figure: CPU per refresh against the select-1 baseline, in alternating rounds
 * at 32 connections on one throwaway database.
 *
 *   npx tsx bench/compare.ts <before-checkout> [rounds=6] [seconds=6]
 *   npx tsx bench/compare.ts --in-process <before-checkout> [batches=30]
 *
 * `<before-checkout>` is a second copy of the repository (e.g. `git archive
 * <commit> | tar -x -C DIR` and a `node_modules` link); "after" is this one.
 * Over HTTP, each round runs the three servers one at a time, the order
 * rotated every round; the report is the median of each and of the per-round
 * ratios. `--in-process` calls both handlers in one Deno process instead,
 * alternating batch by batch (bench/servers/handler-cpu.ts): no HTTP server,
 * far less noise, the figure to compare small changes by. CPU, not wall time:
 * on a shared machine the wall time is mostly waiting for a core.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { refreshSecret, signingJwk } from "../scripts/lib/throwaway-keys.ts";
import { startBenchDatabase } from "./lib/database.ts";
import { runLoad } from "./lib/load.ts";
import { median, progress } from "./lib/log.ts";
import { DENO, repoRoot } from "./lib/proc.ts";
import { type CpuPerRequest, load, type Loaded, startRefresh, startSelectOne } from "./scenarios/overhead.ts";

const args = process.argv.slice(2);
const inProcess = args[0] === "--in-process";
const [beforeRoot, countArg, secondsArg] = inProcess ? args.slice(1) : args;
if (!beforeRoot) {
  console.error("usage: tsx bench/compare.ts [--in-process] <before-checkout> [rounds|batches] [seconds]");
  process.exit(2);
}
const rounds = Number(countArg ?? (inProcess ? 30 : 6));
const seconds = Number(secondsArg ?? 6);

/** Both handlers in one Deno process, alternating; prints each one's median CPU per refresh. */
async function compareInProcess(databaseUrl: string, batches: number): Promise<void> {
  const roots = [path.resolve(beforeRoot), repoRoot];
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    DATABASE_URL: databaseUrl,
    CLERK_ISSUER: "http://127.0.0.1:9",
    SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
    SESSION_REFRESH_SECRET: refreshSecret(),
    SESSION_RATE_LIMITS: "off",
    BENCH_ROOTS: roots.join(","),
    BENCH_BATCHES: String(batches),
  };
  const { stdout } = await promisify(execFile)(
    DENO,
    ["run", "-A", "--quiet", path.join(repoRoot, "bench", "servers", "handler-cpu.ts")],
    { env, cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("handler-cpu: "));
  if (!line) throw new Error(`handler-cpu.ts printed no result:\n${stdout}`);
  const [before, after] = JSON.parse(line.slice("handler-cpu: ".length)) as {
    cpu: number[];
    thread: number[];
  }[];
  for (const [name, r] of [["before", before], ["after", after]] as const) {
    progress(
      "compare",
      `${name.padEnd(6)} in-process median: ${median(r.cpu).toFixed(0)} µs CPU per refresh, JavaScript thread ${
        median(r.thread).toFixed(0)
      } (${r.cpu.length} batches)`,
    );
  }
  progress(
    "compare",
    `after ÷ before, median of per-batch ratios: ${median(after.cpu.map((c, i) => c / before.cpu[i])).toFixed(3)} ` +
      `(JavaScript thread ${median(after.thread.map((c, i) => c / before.thread[i])).toFixed(3)})`,
  );
}

const db = await startBenchDatabase(17, "1GB");
const servers: Record<"before" | "after" | "baseline", Loaded | undefined> = {
  before: undefined,
  after: undefined,
  baseline: undefined,
};
try {
  if (inProcess) {
    await compareInProcess(db.url, rounds);
  } else await compareOverHttp();
} finally {
  await Promise.allSettled(Object.values(servers).map((s) => s?.stop()));
  await db.stop();
}

/** The three servers over HTTP, alternating rounds. */
async function compareOverHttp(): Promise<void> {
  servers.before = await startRefresh(db.url, [], path.resolve(beforeRoot));
  servers.after = await startRefresh(db.url);
  servers.baseline = await startSelectOne(db.url);
  for (const s of Object.values(servers)) await runLoad(s!.target, await s!.tokens(8), 8, 3);
  const names = ["before", "after", "baseline"] as const;
  const runs: Record<(typeof names)[number], CpuPerRequest[]> = { before: [], after: [], baseline: [] };
  const ratios: { before: number[]; after: number[]; afterBefore: number[] } = {
    before: [],
    after: [],
    afterBefore: [],
  };
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const got: Partial<Record<(typeof names)[number], CpuPerRequest>> = {};
    for (const name of order) {
      const { fromUs: _from, toUs: _to, ...cpu } = await load(servers[name]!, seconds);
      got[name] = cpu;
      runs[name].push(cpu);
    }
    ratios.before.push(got.before!.process / got.baseline!.process);
    ratios.after.push(got.after!.process / got.baseline!.process);
    ratios.afterBefore.push(got.after!.process / got.before!.process);
    progress(
      "compare",
      `round ${round + 1}: CPU µs per request (JavaScript thread): before ${got.before!.process.toFixed(0)} (${
        got.before!.mainThread.toFixed(0)
      }), after ${got.after!.process.toFixed(0)} (${got.after!.mainThread.toFixed(0)}), baseline ${
        got.baseline!.process.toFixed(0)
      } (${got.baseline!.mainThread.toFixed(0)})`,
    );
  }
  for (const name of names) {
    const r = runs[name];
    progress(
      "compare",
      `${name.padEnd(8)} median: ${median(r.map((x) => x.process)).toFixed(0)} µs CPU per request, JavaScript thread ${
        median(r.map((x) => x.mainThread)).toFixed(0)
      }, ${median(r.map((x) => x.rps)).toFixed(0)} req/s`,
    );
  }
  progress(
    "compare",
    `median ratios: before ÷ baseline ${median(ratios.before).toFixed(2)}, after ÷ baseline ${
      median(ratios.after).toFixed(2)
    }, after ÷ before ${median(ratios.afterBefore).toFixed(2)}`,
  );
}
