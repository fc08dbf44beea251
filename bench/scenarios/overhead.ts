/**
 * Scenario 11: the session function's CPU per refresh against a bare `Deno.serve` that
 * answers after one `select 1` (bench/servers/baseline.ts), and where the difference goes.
 *
 * 1. Alternating rounds at 32 keep-alive connections: CPU per request of each process,
 *    and of its JavaScript thread alone (the rest is V8's background GC and compiler,
 *    and the blocking pool WebCrypto hands its work to).
 * 2. One more run of each under V8's sampling profiler (`deno run --cpu-prof`): the
 *    samples of the loaded window, charged to the parts of a refresh
 *    (bench/lib/cpu-profile.ts), times the thread's CPU per request, give µs per part.
 *
 * The figure: CPU per refresh without the signature (the rounds' median minus the
 * signature's share of the JavaScript thread) ÷ the baseline's, target ≤ 1.5.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Context } from "../lib/context.ts";
import { monotonicUs, type Part, PARTS, profileShares, readProfile } from "../lib/cpu-profile.ts";
import { runLoad } from "../lib/load.ts";
import { median, progress } from "../lib/log.ts";
import { cpuMs, threadCpuMs } from "../lib/proc.ts";
import type { CpuPerRequest, OverheadResult, ProfiledRun } from "../lib/results.ts";
import { type Server, startBaseline, startSessionFunction } from "../lib/targets.ts";

const CONNECTIONS = 32;
/** The two servers, by name; `denoArgs` for the profiled runs. */
const START = {
  refresh: (db: string, denoArgs: string[] = []) => startSessionFunction(db, { denoArgs }),
  baseline: (db: string, denoArgs: string[] = []) => startBaseline(db, { denoArgs }),
};

/** One loaded run: CPU per request of the process and its main thread, and the monotonic window. */
async function load(s: Server, seconds: number): Promise<CpuPerRequest & { fromUs: number; toUs: number }> {
  const tokens = await s.tokens(CONNECTIONS);
  const { pid } = s;
  const [process0, main0, fromUs] = [cpuMs(pid), threadCpuMs(pid), monotonicUs()];
  const run = await runLoad(s.target, tokens, CONNECTIONS, seconds);
  const [process1, main1, toUs] = [cpuMs(pid), threadCpuMs(pid), monotonicUs()];
  const errors = Object.keys(run.errors);
  if (run.ok === 0 || errors.length > 0) {
    throw new Error(`${s.target.name}: ${run.ok} ok, errors ${JSON.stringify(run.errors)} ${run.errorSamples[0] ?? ""}`);
  }
  const per = (ms: number) => (ms * 1000) / run.ok;
  return { rps: run.rps, process: per(process1 - process0), mainThread: per(main1 - main0), fromUs, toUs };
}

const medianOf = (runs: readonly CpuPerRequest[]): CpuPerRequest => ({
  rps: median(runs.map((r) => r.rps)),
  process: median(runs.map((r) => r.process)),
  mainThread: median(runs.map((r) => r.mainThread)),
});

/** A profiled run of a server started with `--cpu-prof`: stopped afterwards so that Deno writes the profile. */
async function profile(name: keyof typeof START, db: string, seconds: number, warmup: number): Promise<ProfiledRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sessionguard-cpu-prof-"));
  try {
    const s = await START[name](db, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    let run: Awaited<ReturnType<typeof load>>;
    try {
      await runLoad(s.target, await s.tokens(8), 8, warmup);
      run = await load(s, seconds);
    } finally {
      await s.stop();
    }
    const shares = profileShares(await readProfile(dir), run.fromUs, run.toUs);
    const parts = Object.fromEntries(
      PARTS.map((part) => [part, (run.mainThread * shares.samples[part]) / Math.max(1, shares.busySamples)]),
    ) as Record<Part, number>;
    return { rps: run.rps, process: run.process, mainThread: run.mainThread, busySamples: shares.busySamples, parts };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runOverhead({ db, scale }: Context): Promise<OverheadResult> {
  const seconds = scale.httpSeconds;
  progress("overhead", `session function and select-1 baseline, ${scale.peerRounds} alternating rounds at 32 conn.`);
  const servers = { refresh: await START.refresh(db.url), baseline: undefined as Server | undefined };
  const rounds: { baseline: CpuPerRequest; refresh: CpuPerRequest }[] = [];
  try {
    servers.baseline = await START.baseline(db.url);
    for (const s of [servers.refresh, servers.baseline]) await runLoad(s.target, await s.tokens(8), 8, scale.warmupSeconds);
    for (let round = 0; round < scale.peerRounds; round++) {
      const measured = {} as Record<"refresh" | "baseline", CpuPerRequest>;
      for (const name of round % 2 === 0 ? ["refresh", "baseline"] as const : ["baseline", "refresh"] as const) {
        const { fromUs: _from, toUs: _to, ...cpu } = await load(servers[name]!, seconds);
        measured[name] = cpu;
      }
      rounds.push(measured);
      const { refresh: r, baseline: b } = measured;
      progress(
        "overhead",
        `round ${round + 1}: refresh ${r.process.toFixed(0)} µs CPU per request (JavaScript thread ${r.mainThread.toFixed(0)}), ` +
          `baseline ${b.process.toFixed(0)} (${b.mainThread.toFixed(0)})`,
      );
    }
  } finally {
    await Promise.allSettled([servers.refresh.stop(), servers.baseline?.stop()]);
  }

  progress("overhead", "one profiled run of each (deno run --cpu-prof)");
  const profiledRefresh = await profile("refresh", db.url, seconds, scale.warmupSeconds);
  const profiledBaseline = await profile("baseline", db.url, seconds, scale.warmupSeconds);
  const refresh = medianOf(rounds.map((r) => r.refresh));
  const baseline = medianOf(rounds.map((r) => r.baseline));
  const signatureUs = (profiledRefresh.parts.signature / profiledRefresh.mainThread) * refresh.mainThread;
  const withoutSignatureUs = refresh.process - signatureUs;
  const ratio = withoutSignatureUs / baseline.process;
  progress(
    "overhead",
    `without the signature ${withoutSignatureUs.toFixed(0)} µs per refresh, ${ratio.toFixed(2)}× the baseline's ` +
      `${baseline.process.toFixed(0)} µs; profile: ${PARTS.map((part) => `${part} ${profiledRefresh.parts[part].toFixed(0)}`).join(", ")}`,
  );
  const profiled = { baseline: profiledBaseline, refresh: profiledRefresh };
  return { connections: CONNECTIONS, seconds, rounds, baseline, refresh, profiled, signatureUs, withoutSignatureUs, ratio };
}
