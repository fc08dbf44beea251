/**
 * Runs `npm start`'s script (scripts/start.ts through tsx, as package.json does) as a
 * child process with its own data name and port, so tests never touch a developer's
 * stack, and reads what it prints and leaves in .local/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../scripts/lib/ports.ts";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const localDir = path.join(root, ".local");

/** Names of settings a developer's shell may hold that must not leak into a test stack. */
const INHERITED_SETTING = /^(CLERK_|SESSION_|SUPABASE_|SG_)|^(DATABASE_URL|ALLOWED_ORIGINS)$/;

export interface RunFile {
  pid: number;
  gateway_pid: number;
  postgres_pid: number | null;
  url: string;
}

export interface Launched {
  readonly name: string;
  readonly port: number;
  readonly origin: string;
  readonly child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or 128 + signal) once the process is gone. */
  readonly exited: Promise<number>;
  /** Resolves once "ready" is printed; rejects with the output if it exits first. */
  readonly ready: Promise<void>;
  runFile(): Promise<RunFile>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface LaunchOptions {
  /** Data name; default a fresh one. */
  name?: string;
  port?: number;
  args?: string[];
  /** Settings for the stack (SG_ENV_FILE defaults to a file that does not exist). */
  env?: Record<string, string>;
  /** Another checkout to run in (a fresh copy); default this one. */
  cwd?: string;
  /** Run `npm start` itself (its installer included), not scripts/start.ts directly. */
  npmStart?: boolean;
}

/** A data name unique to this test run. */
export function uniqueName(label: string): string {
  return `t${label}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function launch(options: LaunchOptions = {}): Promise<Launched> {
  const name = options.name ?? uniqueName("stack");
  const port = options.port ?? (await freePort());
  const cwd = options.cwd ?? root;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !INHERITED_SETTING.test(key)) env[key] = value;
  }
  Object.assign(env, {
    SG_DATA_NAME: name,
    SG_PORT: String(port),
    SG_DB_PORT: "0",
    SG_ENV_FILE: path.join(cwd, ".local", `stack-${name}`, "no-such.env"),
    NO_COLOR: "1",
    ...options.env,
  });
  // detached: its own process group, so a failed test can still stop everything it spawned.
  const [command, args] = options.npmStart
    ? ["npm", ["start", "--silent", "--", ...(options.args ?? [])]]
    : [process.execPath, ["--import", "tsx", "scripts/start.ts", ...(options.args ?? [])]];
  const child = spawn(command, args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? 128 + os.constants.signals[signal!]))
  );
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/sessionguard: ready in/.test(output)) {
        child.stdout!.off("data", check);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) =>
      reject(new Error(`npm start exited with ${code} before it was ready:\n${output}`))
    );
  });
  ready.catch(() => {}); // observed by the caller when it awaits it
  launched.add(child);
  return {
    name,
    port,
    origin: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    ready,
    runFile: async () =>
      JSON.parse(await readFile(path.join(localDir, `stack-${name}`, "running.json"), "utf8")) as RunFile,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return await exited;
    },
  };
}

const launched = new Set<ChildProcess>();

/** Kills the process group of every stack a test left running (after a failure). */
export function killLeftovers(): void {
  for (const child of launched) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  launched.clear();
}

/** Removes a test stack's data, keys and run file. */
export async function removeStackData(name: string): Promise<void> {
  await rm(path.join(localDir, `pg17-${name}`), { recursive: true, force: true });
  await rm(path.join(localDir, `stack-${name}`), { recursive: true, force: true });
}

/** Whether `pid` runs (a zombie does not). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (e.g. a data folder). */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(needle) && isRunning(Number(entry))) found.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return found;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The stack's keys file. */
export async function stackKeys(
  name: string,
): Promise<Record<string, unknown> & { clerk_webhook_secret: string }> {
  return JSON.parse(await readFile(path.join(localDir, `stack-${name}`, "keys.json"), "utf8"));
}
