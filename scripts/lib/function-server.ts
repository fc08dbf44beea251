/**
 * Runs a real edge-function entrypoint, `supabase/functions/<name>/index.ts`,
 * in its own Deno process with the given settings (and nothing else from the
 * environment), resolves once it listens, and stops it when asked (after a test, a bench run or a soak).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");

export type Settings = Record<string, string | undefined>;

export interface FunctionServer {
  /** Base URL of the function, e.g. http://127.0.0.1:40123/functions/v1/session */
  readonly url: string;
  /** Origin only, for paths outside the function's base. */
  readonly origin: string;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

function spawnFunction(name: string, settings: Settings): ChildProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  for (const [key, value] of Object.entries({ HOST: "127.0.0.1", PORT: "0", ...settings })) {
    if (value !== undefined) env[key] = value;
  }
  const entrypoint = path.join(root, "supabase", "functions", name, "index.ts");
  return spawn(DENO, ["run", "-A", "--quiet", entrypoint], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts function `name` and resolves once it listens. */
export async function startFunctionServer(name: string, settings: Settings): Promise<FunctionServer> {
  const child = spawnFunction(name, settings);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${stderr}`)), 30_000);
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${stderr}`));
    });
  });

  return {
    url: `${origin}/functions/v1/${name}`,
    origin,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs function `name` expecting it to refuse to start; resolves with its exit code and stderr. */
export async function failingFunctionStart(
  name: string,
  settings: Settings,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnFunction(name, settings);
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr };
}
