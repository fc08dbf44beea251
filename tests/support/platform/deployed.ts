/**
 * Runs a function's entrypoint exactly as it is deployed: from its own folder, so
 * its own `deno.json` (and `deno.lock`, `--frozen`: nothing is written) resolves the
 * dependencies from npm, not the repository's node_modules; settings from the
 * environment only, no files; `--allow-net --allow-env`, no file access. With
 * `edge: true` the Edge Runtime's differences are preloaded (./edge-runtime.js).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");
const PRELOAD = path.join(root, "tests", "support", "platform", "edge-runtime.js");

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
  options: { edge?: boolean } = {},
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
  const args = ["run", "--frozen", "--quiet", "--allow-net", "--allow-env"];
  if (options.edge) args.push(`--preload=${PRELOAD}`);
  args.push("index.ts");
  const child: ChildProcess = spawn(DENO, args, {
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
): Promise<{ code: number | null; log: string }> {
  try {
    const running = await runDeployed(name, settings);
    await running.stop();
    return { code: null, log: running.log() };
  } catch (error) {
    const message = (error as Error).message;
    const code = /exited with (\d+)/.exec(message);
    return { code: code ? Number(code[1]) : null, log: message };
  }
}
