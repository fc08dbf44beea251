/**
 * The real session entrypoint in a Deno process that a fault run can kill
 * (SIGKILL, a crash) or stop (SIGTERM, a redeploy) and start again on the same
 * port. scripts/lib/session-server.ts starts the same process but hides it
 * behind `stop()`; a crash needs the signal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");
const ENTRYPOINT = path.join(root, "supabase", "functions", "session", "index.ts");

/** A running function process. */
export interface FunctionProcess {
  readonly pid: number;
  /** Everything written to stderr so far (the function's log). */
  log(): string;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the function on 127.0.0.1:`port` and resolves once it listens. */
export async function startFunctionProcess(
  settings: Readonly<Record<string, string>>,
  port: number,
): Promise<FunctionProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    ...settings,
    HOST: "127.0.0.1",
    PORT: String(port),
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  const child: ChildProcess = spawn(DENO, ["run", "-A", "--quiet", ENTRYPOINT], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`session function did not start:\n${stderr}`));
    }, 30_000);
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      if (/listening on/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`session function exited with ${code}:\n${stderr}`));
    });
  });

  return {
    pid: child.pid!,
    log: () => stderr,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
