/**
 * pgbench: found (or installed from Debian as root), run with a custom script,
 * and its summary parsed. Its per-second progress lines are shown as they come.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { progress } from "./log.ts";
import { repoRoot } from "../../scripts/lib/process.ts";
import type { PgbenchResult } from "./results.ts";

const run = promisify(execFile);
const DEBIAN_PACKAGE = "postgresql-15";

/** Path of a pgbench binary; installs Debian's when missing and running as root. */
export async function findPgbench(): Promise<string> {
  const found = locate();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `pgbench is missing: install it as root with\n  apt-get update && apt-get install -y ${DEBIAN_PACKAGE}`,
    );
  }
  progress("setup", `pgbench missing: apt-get install ${DEBIAN_PACKAGE}`);
  const options = { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, maxBuffer: 64 * 1024 * 1024 };
  await run("apt-get", ["update", "-qq"], options);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", DEBIAN_PACKAGE], options);
  const installed = locate();
  if (!installed) throw new Error(`apt-get installed ${DEBIAN_PACKAGE} but no pgbench was found`);
  return installed;
}

function locate(): string | undefined {
  for (const version of [17, 16, 15]) {
    const candidate = `/usr/lib/postgresql/${version}/bin/pgbench`;
    if (existsSync(candidate)) return candidate;
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = path.join(dir, "pgbench");
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `pgbench --version`, e.g. "pgbench (PostgreSQL) 15.14". */
export async function pgbenchVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ["--version"]);
  return stdout.trim();
}

type PgbenchOptions = {
  binary: string;
  url: string;
  script: string;
  clients: number;
  seconds: number;
  defines?: Record<string, string | number>;
  label: string;
};

/**
 * Runs `script` (a file under bench/pgbench) with `clients` connections for
 * `seconds`, prepared statements, no vacuum; `defines` become -D variables.
 * A run that processed no transaction at all (32 clients still connecting when a
 * 1 s quick run ends on a loaded machine) says nothing: it is run again for twice
 * as long, up to three times, and the longer run is what gets reported.
 */
export async function runPgbench(options: PgbenchOptions): Promise<PgbenchResult> {
  let seconds = options.seconds;
  for (let attempt = 1; ; attempt++) {
    const result = await runPgbenchOnce({ ...options, seconds });
    if (result.transactions > 0 || attempt === 3) return result;
    progress("  pgbench", `${options.label}: no transaction in ${seconds} s, running again for ${seconds * 2} s`);
    seconds *= 2;
  }
}

async function runPgbenchOnce(options: PgbenchOptions): Promise<PgbenchResult> {
  const args = [
    "--no-vacuum",
    "--protocol=prepared",
    `--client=${options.clients}`,
    `--jobs=${Math.min(options.clients, 2)}`,
    `--time=${options.seconds}`,
    `--progress=${options.seconds > 4 ? 2 : 1}`,
    `--file=${path.join(repoRoot, "bench", "pgbench", options.script)}`,
    ...Object.entries(options.defines ?? {}).map(([name, value]) => `--define=${name}=${value}`),
    options.url,
  ];
  const child = spawn(options.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
    for (const line of chunk.toString().split("\n")) {
      const match = /^progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms/.exec(line);
      if (match) progress("  pgbench", `${options.label} ${match[1]} s: ${Math.round(Number(match[2]))} tps, ${match[3]} ms`);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`pgbench ${options.script} exited with ${code}:\n${stderr.slice(-4000)}${stdout.slice(-2000)}`);
  const number = (pattern: RegExp) => {
    const match = pattern.exec(stdout);
    if (!match) throw new Error(`pgbench output lacks ${pattern}:\n${stdout}`);
    return Number(match[1]);
  };
  const transactions = number(/number of transactions actually processed: (\d+)/);
  const { clients, seconds } = options;
  if (transactions === 0) return { clients, seconds, transactions, failed: 0, tps: 0, latencyMs: 0 };
  return {
    clients,
    seconds,
    transactions,
    failed: Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0),
    tps: number(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyMs: number(/latency average = ([\d.]+) ms/),
  };
}
