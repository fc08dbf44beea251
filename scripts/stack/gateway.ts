/**
 * Runs dev/gateway.ts in one Deno process and stops it again.
 *
 * The gateway starts while the database is still being prepared, but binds its port
 * only when {@link GatewayProcess.listen} tells it to: the stack's port answers only
 * once the database is migrated (SPEC, "What npm start gives a newcomer").
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { Settings } from "./env.ts";

export interface GatewayProcess {
  readonly pid: number;
  /** Resolves when the process has exited (whoever stopped it). */
  readonly exited: Promise<number | null>;
  /** Binds the port; resolves once it listens, rejects when the process exits first. */
  listen(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  readonly root: string;
  readonly port: number;
  /** Function settings and the gateway's own SG_* settings. */
  readonly env: Settings;
  /** Each line the process prints. */
  readonly onLine: (line: string, stream: "stdout" | "stderr") => void;
}

/**
 * Starts the gateway and resolves once it listens; rejects with its last output
 * when it exits first (a bad setting, a taken port).
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const deno = path.join(options.root, "node_modules", ".bin", "deno");
  const roots = ["dev", "functions", "supabase", "web", "packages", "node_modules"].map((dir) =>
    path.join(options.root, dir)
  );
  // The devices page's build (web/build.ts), under .local/.
  if (options.env.SG_WEB_PAGE_DIR) roots.push(options.env.SG_WEB_PAGE_DIR);
  const args = [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-net",
    "--allow-env",
    `--allow-read=${[...roots, path.join(options.root, "package.json")].join(",")}`,
    path.join(options.root, "dev", "gateway.ts"),
  ];
  const env: Settings = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
    ...options.env,
    SG_GATEWAY_HOST: "127.0.0.1",
    SG_GATEWAY_PORT: String(options.port),
    SG_EXIT_ON_STDIN_EOF: "1",
    SG_LISTEN_ON_STDIN: "1",
  };
  const child = spawn(deno, args, { cwd: options.root, env, stdio: ["pipe", "pipe", "pipe"] });
  // "close": the process has exited and its output is read to the end.
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const recent: string[] = [];
  let prepared: () => void = () => {};
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (prepared = resolve));
  const bound = new Promise<void>((resolve) => (listening = resolve));
  forwardLines(child, (line, stream) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
    if (/^gateway: prepared/.test(line)) prepared();
    if (/^gateway: listening on /.test(line)) listening();
    options.onLine(line, stream);
  });
  child.once("error", (error) => recent.push(String(error)));

  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    exited.then(() => "exited" as const),
  ]);
  if (outcome === "exited") {
    throw new Error(`the Deno gateway exited before it was ready:\n${recent.join("\n")}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    exited,
    async listen() {
      child.stdin!.write("listen\n");
      const outcome = await Promise.race([
        bound.then(() => "listening" as const),
        exited.then(() => "exited" as const),
      ]);
      if (outcome === "exited") {
        throw new Error(`the Deno gateway exited before it listened:\n${recent.join("\n")}`);
      }
    },
    stop(graceMs = 5_000) {
      return stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
    },
  };
}

function forwardLines(
  child: ChildProcess,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): void {
  for (const stream of ["stdout", "stderr"] as const) {
    let buffered = "";
    child[stream]!.setEncoding("utf8");
    child[stream]!.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") onLine(line, stream);
    });
    child[stream]!.on("end", () => {
      if (buffered.trim() !== "") onLine(buffered, stream);
    });
  }
}
