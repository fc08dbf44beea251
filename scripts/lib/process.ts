/**
 * The one launcher of the tooling's child processes (the session function, the
 * gateway, the bench's baselines and peer): an environment of exactly what is
 * given plus PATH and HOME, the output kept, a wait for a line that says the process
 * is ready, and a stop that escalates to SIGKILL; and whether a process (or a data
 * folder's postmaster) still runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is scripts/lib/process.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The Deno binary npm installs (not `npx deno`: npx leaves a child behind when killed). */
export const DENO = path.join(repoRoot, "node_modules", ".bin", "deno");

const KEEP_OUTPUT = 64 * 1024;

export interface LaunchOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment besides PATH, HOME, NO_COLOR and DENO_DIR; undefined values are left out. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Keep stdin open as a pipe (the gateway reads commands from it). */
  readonly stdin?: boolean;
  /** Each complete line the process prints. */
  readonly onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface Launched {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process has exited and its output is read. */
  readonly exited: Promise<number | null>;
  /** Everything written to stderr (a function's log). */
  log(): string;
  /** The last 64 KB of stdout and stderr together, for error messages. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects when the process exits first or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM), SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Starts a process; see {@link startUntil} to wait for it to be ready. */
export function launch(options: LaunchOptions): Launched {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd ?? repoRoot,
    env,
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let output = "";
  let log = "";
  const waiters = new Set<() => void>();
  for (const stream of ["stdout", "stderr"] as const) {
    let partial = "";
    child[stream]!.setEncoding("utf8");
    child[stream]!.on("data", (chunk: string) => {
      output = (output + chunk).slice(-KEEP_OUTPUT);
      if (stream === "stderr") log += chunk;
      for (const wake of waiters) wake();
      if (!options.onLine) return;
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") options.onLine(line, stream);
    });
    child[stream]!.on("end", () => {
      if (partial.trim() !== "") options.onLine?.(partial, stream);
    });
  }
  child.once("error", (error) => (output += `\n${error}`));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  let stopping: Promise<void> | undefined;

  return {
    pid: child.pid ?? NaN,
    child,
    exited,
    log: () => log,
    output: () => output,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const done = (settle: () => void) => {
          waiters.delete(check);
          clearTimeout(timer);
          settle();
        };
        const check = () => {
          const match = pattern.exec(output);
          if (match) done(() => resolve(match));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        );
        waiters.add(check);
        void exited.then((code) => done(() => reject(new Error(`exited with ${code}:\n${output}`))));
        check();
      });
    },
    stop(signal = "SIGTERM", graceMs = 5_000) {
      return stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
    },
  };
}

/**
 * Starts a process and resolves once its output matches `ready`; kills it and
 * rejects, naming it, when it exits or stays silent first.
 */
export async function startUntil(
  name: string,
  options: LaunchOptions & { readonly ready: RegExp; readonly timeoutMs?: number },
): Promise<Launched & { readonly ready: RegExpExecArray }> {
  const launched = launch(options);
  try {
    return { ...launched, ready: await launched.waitFor(options.ready, options.timeoutMs) };
  } catch (error) {
    await launched.stop("SIGKILL");
    throw new Error(`${name} did not start: ${(error as Error).message}`);
  }
}

/** Whether `pid` runs; a zombie (exited, not yet reaped) does not. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // "pid (comm) S ...": the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no procfs: trust kill()
  }
}

/** The pid written in a Postgres data folder's postmaster.pid, or null. */
export async function postmasterPid(dataDir: string): Promise<number | null> {
  const text = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number(text.split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
