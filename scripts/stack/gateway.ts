/**
 * Runs dev/gateway.ts in one Deno process and stops it again.
 *
 * The gateway starts while the database is still being prepared, but binds its port
 * only when {@link GatewayProcess.listen} tells it to: the stack's port answers only
 * once the database is migrated (SPEC, "What npm start gives a newcomer").
 */
import path from "node:path";
import { launch } from "../lib/process.ts";
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
 * Starts the gateway and resolves once it is prepared; rejects with its last output
 * when it exits first (a bad setting, a taken port).
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const roots = ["dev", "functions", "supabase", "web", "packages", "node_modules", "scripts/lib"].map((dir) =>
    path.join(options.root, dir)
  );
  // The devices page's build (web/build.ts), under .local/.
  if (options.env.SG_WEB_PAGE_DIR) roots.push(options.env.SG_WEB_PAGE_DIR);
  const child = launch({
    command: path.join(options.root, "node_modules", ".bin", "deno"),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      `--allow-read=${[...roots, path.join(options.root, "package.json")].join(",")}`,
      path.join(options.root, "dev", "gateway.ts"),
    ],
    cwd: options.root,
    env: {
      ...options.env,
      SG_GATEWAY_HOST: "127.0.0.1",
      SG_GATEWAY_PORT: String(options.port),
      SG_EXIT_ON_STDIN_EOF: "1",
      SG_LISTEN_ON_STDIN: "1",
    },
    stdin: true,
    onLine: options.onLine,
  });
  await child.waitFor(/^gateway: prepared/m, 120_000).catch(async (error) => {
    await child.stop();
    throw new Error(`the Deno gateway exited before it was ready: ${error.message}`);
  });
  return {
    pid: child.pid,
    exited: child.exited,
    async listen() {
      child.child.stdin!.write("listen\n");
      await child.waitFor(/^gateway: listening on /m, 120_000).catch((error) => {
        throw new Error(`the Deno gateway exited before it listened: ${error.message}`);
      });
    },
    stop: (graceMs) => child.stop("SIGTERM", graceMs),
  };
}
