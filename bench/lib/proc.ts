/**
 * Processes the bench starts (the session function, the baseline server, the
 * peer) and what it reads about them from /proc: resident memory and CPU time.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is bench/lib/proc.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DENO = path.join(repoRoot, "node_modules", ".bin", "deno");

export interface Server {
  readonly name: string;
  /** What the ready pattern captured, e.g. http://127.0.0.1:40123 */
  readonly origin: string;
  readonly pid: number;
  /** The last few kilobytes the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const KEEP_OUTPUT = 16 * 1024;

/**
 * Starts `command` and resolves once a line of its stdout matches `ready`
 * (whose first group is the origin). Environment is exactly `env` plus PATH
 * and HOME, so nothing of the caller's settings leaks in.
 */
export async function startServer(options: {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  ready: RegExp;
  timeoutMs?: number;
}): Promise<Server> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    ...options.env,
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_OUTPUT);
  };
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const origin = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      keep(chunk);
      stdout += chunk.toString();
      const match = options.ready.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code} before it was ready:\n${output}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  return {
    name: options.name,
    origin,
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident set size of a process in kilobytes (VmRSS), or NaN when it is gone. */
export function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleRss(
  pid: number,
  intervalMs = 200,
): { stop(): { peakKb: number; meanKb: number; samples: number } } {
  const samples: number[] = [];
  const take = () => {
    const kb = rssKb(pid);
    if (Number.isFinite(kb)) samples.push(kb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const peakKb = samples.length ? Math.max(...samples) : NaN;
      const meanKb = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN;
      return { peakKb, meanKb, samples: samples.length };
    },
  };
}

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ..., utime, stime, cutime, cstime, ...]. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU milliseconds a process has used (user + system), its waited-for children included when asked. */
export function cpuMs(pid: number, withChildren = false): number {
  const fields = statFields(pid);
  if (!fields) return NaN;
  // utime, stime, cutime, cstime are fields 14-17 of stat, i.e. indexes 11-14 here.
  let ticks = Number(fields[11]) + Number(fields[12]);
  if (withChildren) ticks += Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / ticksPerSecond();
}

/** CPU milliseconds (user + system) of thread `tid` of process `pid`; the main thread's by default. */
export function threadCpuMs(pid: number, tid = pid): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** Parent pid of a process, or NaN. */
export function parentPid(pid: number): number {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : NaN;
}

/**
 * CPU milliseconds used by a process tree rooted at `rootPid`: the root, the
 * children it has already reaped, and every live descendant (for Postgres:
 * the postmaster, its background workers and every backend).
 */
export function treeCpuMs(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentPid(Number(entry));
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  let total = 0;
  const visit = (pid: number, root: boolean) => {
    const used = cpuMs(pid, true);
    if (Number.isFinite(used)) total += used;
    else if (root) total = NaN;
    for (const child of children.get(pid) ?? []) visit(child, false);
  };
  visit(rootPid, true);
  return total;
}
