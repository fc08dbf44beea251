/**
 * Runs the real `supabase/functions/clerk-webhook/index.ts` in a Deno process,
 * and signs Clerk-shaped deliveries for it the way Svix does, with the
 * `standardwebhooks` library's own signing and a secret made in the test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");
const ENTRYPOINT = path.join(root, "supabase", "functions", "clerk-webhook", "index.ts");

type Settings = Record<string, string | undefined>;

export interface ClerkWebhookServer {
  /** The function's URL, e.g. http://127.0.0.1:40123/functions/v1/clerk-webhook */
  readonly url: string;
  readonly origin: string;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

/** A fresh `whsec_...` secret of 24 random bytes, as Svix makes them. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** A Svix-looking message id. */
export function newDeliveryId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

export interface SignedDelivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * A delivery of `event` signed with `secret` as Svix signs it: `svix-id`,
 * `svix-timestamp` (from `date`) and `svix-signature` over id, timestamp and
 * the exact body.
 */
export function signDelivery(
  secret: string,
  event: unknown,
  options: { id?: string; date?: Date; body?: string } = {},
): SignedDelivery {
  const id = options.id ?? newDeliveryId();
  const date = options.date ?? new Date();
  const body = options.body ?? JSON.stringify(event);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": String(Math.floor(date.getTime() / 1000)),
      "svix-signature": new Webhook(secret).sign(id, date, body),
    },
  };
}

/** A Clerk event envelope as Clerk sends it. */
export function clerkEvent(type: string, data: Record<string, unknown>): Record<string, unknown> {
  return {
    data,
    event_attributes: { http_request: { client_ip: "", user_agent: "" } },
    instance_id: "ins_test",
    object: "event",
    timestamp: Date.now(),
    type,
  };
}

function spawnDeno(settings: Settings): ChildProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  for (const [name, value] of Object.entries({ HOST: "127.0.0.1", PORT: "0", ...settings })) {
    if (value !== undefined) env[name] = value;
  }
  return spawn(DENO, ["run", "-A", "--quiet", ENTRYPOINT], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts the function and resolves once it listens. */
export async function startClerkWebhookServer(settings: Settings): Promise<ClerkWebhookServer> {
  const child = spawnDeno(settings);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`clerk-webhook did not start:\n${stderr}`)), 30_000);
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
      reject(new Error(`clerk-webhook exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url: `${origin}/functions/v1/clerk-webhook`,
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

/** Runs the function expecting it to refuse to start; resolves with its exit code and stderr. */
export async function failingClerkWebhookStart(
  settings: Settings,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnDeno(settings);
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr };
}
