/**
 * Runs a real edge-function entrypoint, `supabase/functions/<name>/index.ts`,
 * in its own Deno process with the given settings (and nothing else from the
 * environment), resolves once it listens, and stops it (or kills it, for a
 * fault run) when asked.
 */
import path from "node:path";
import { DENO, launch, type Launched, repoRoot, startUntil } from "./process.ts";

export type Settings = Record<string, string | undefined>;

export interface FunctionServer {
  /** Base URL of the function, e.g. http://127.0.0.1:40123/functions/v1/session */
  readonly url: string;
  /** Origin only, for paths outside the function's base. */
  readonly origin: string;
  readonly pid: number;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  /** SIGTERM (or `signal`), then SIGKILL after 5 s; resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface FunctionOptions {
  /** Extra flags for `deno run` (e.g. `--cpu-prof`). */
  readonly denoArgs?: readonly string[];
  /** The checkout whose function runs (default: this one). */
  readonly root?: string;
}

function options(name: string, settings: Settings, extra: FunctionOptions) {
  return {
    command: DENO,
    args: [
      "run",
      "-A",
      "--quiet",
      ...(extra.denoArgs ?? []),
      path.join(extra.root ?? repoRoot, "supabase", "functions", name, "index.ts"),
    ],
    env: { HOST: "127.0.0.1", PORT: "0", ...settings },
  };
}

/** Starts function `name` and resolves once it listens (on PORT, any free port by default). */
export async function startFunctionServer(
  name: string,
  settings: Settings,
  extra: FunctionOptions = {},
): Promise<FunctionServer> {
  const child: Launched & { ready: RegExpExecArray } = await startUntil(name, {
    ...options(name, settings, extra),
    ready: /listening on (http:\/\/[\d.]+:\d+)/,
  });
  const origin = child.ready[1]!;
  return {
    url: `${origin}/functions/v1/${name}`,
    origin,
    pid: child.pid,
    log: child.log,
    stop: (signal) => child.stop(signal),
  };
}

/** Runs function `name` expecting it to refuse to start; resolves with its exit code and stderr. */
export async function failingFunctionStart(
  name: string,
  settings: Settings,
): Promise<{ code: number | null; stderr: string }> {
  const child = launch(options(name, settings, {}));
  const timer = setTimeout(() => child.stop("SIGKILL"), 30_000);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, stderr: child.log() };
}
