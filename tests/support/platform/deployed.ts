/**
 * Runs a function's entrypoint exactly as it is deployed: from its own folder, so
 * its own `deno.json` (and `deno.lock`, `--frozen`: nothing is written) resolves the
 * dependencies from npm, not the repository's node_modules; settings from the
 * environment only, no files; `--allow-net --allow-env`, no file access. With
 * `edge: true` the Edge Runtime's differences (./edge-runtime.js) are evaluated first:
 * the main module is a two-line file that imports them, then the entrypoint (Deno 2.1,
 * the Edge Runtime's, has no `--preload`). `deno` picks the binary (./edge-deno.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OUR_DENO } from "./edge-deno.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const EDGE_RUNTIME = path.join(root, "tests", "support", "platform", "edge-runtime.js");

/** A main module that sets up the Edge Runtime's globals, then loads entrypoint `name`. */
function edgeMain(name: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "sg-edge-")), `${path.basename(name)}.js`);
  const entry = path.join(root, "supabase", "functions", name, "index.ts");
  writeFileSync(
    file,
    `import ${JSON.stringify(pathToFileURL(EDGE_RUNTIME).href)};\n` +
      `import ${JSON.stringify(pathToFileURL(entry).href)};\n`,
  );
  return file;
}

export interface Deployed {
  /** The origin it listens on, e.g. http://127.0.0.1:40123 */
  readonly origin: string;
  /** stderr so far (the function's log). */
  log(): string;
  /** Whether the process still runs. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Starts function `name`; resolves once it listens, rejects with its log if it exits first. */
export async function runDeployed(
  name: string,
  settings: Record<string, string | undefined>,
  options: { edge?: boolean; deno?: string } = {},
): Promise<Deployed> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
    ...(options.edge ? { EDGE_TEST_PORT: "0" } : { HOST: "127.0.0.1", PORT: "0" }),
  };
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = value;
  const args = [
    "run",
    "--frozen",
    "--quiet",
    "--allow-net",
    "--allow-env",
    "--config=deno.json",
    "--lock=deno.lock",
  ];
  args.push(options.edge ? edgeMain(name) : "index.ts");
  const child: ChildProcess = spawn(options.deno ?? OUR_DENO, args, {
    cwd: path.join(root, "supabase", "functions", name),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const origin = await new Promise<string>((resolve, reject) => {
    // The first run downloads the npm packages deno.json names.
    const timer = setTimeout(() => reject(new Error(`${name} did not listen:\n${stderr}`)), 120_000);
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${stderr}`));
    });
  });
  return {
    origin,
    log: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL"); // the Edge Runtime's signal listeners are no-ops
      await exited;
    },
  };
}

/** Runs function `name` as deployed, expecting it to stop; resolves with its exit code and log. */
export async function runDeployedToExit(
  name: string,
  settings: Record<string, string | undefined>,
  options: { deno?: string } = {},
): Promise<{ code: number | null; log: string }> {
  try {
    const running = await runDeployed(name, settings, options);
    await running.stop();
    return { code: null, log: running.log() };
  } catch (error) {
    const message = (error as Error).message;
    const code = /exited with (\d+)/.exec(message);
    return { code: code ? Number(code[1]) : null, log: message };
  }
}
