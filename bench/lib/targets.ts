/**
 * The three HTTP servers the bench loads, each started as in production:
 *  - ours: the real session function entrypoint under Deno, with freshly
 *    generated keys and a local Clerk-like issuer for /start;
 *  - baseline: bench/servers/baseline.ts under Deno (one `select 1` per request);
 *  - peer: oidc-provider under Node (bench/peer/oidc-server.ts).
 */
import net from "node:net";
import path from "node:path";
import { clerkId, type ClerkIssuer, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import type { Target } from "./load.ts";
import { DENO, repoRoot, type Server, startServer } from "./proc.ts";

const APP_ORIGIN = "http://localhost:3000";
const SESSION_ISSUER = "http://localhost:54321/functions/v1/session";
/** Headers every load request carries, as Supabase's gateway would forward them. */
const CLIENT_HEADERS = { "x-forwarded-for": "203.0.113.7", "user-agent": "sessionguard-bench/1" };

export interface SessionFunction {
  readonly server: Server;
  readonly target: Target;
  /** The settings it runs with (secrets included; never printed). */
  readonly settings: Readonly<Record<string, string>>;
  /** Starts `count` sessions through POST /start; resolves with their refresh tokens. */
  startSessions(count: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts the real session function against `databaseUrl`, signing ES256 access
 * tokens, or HS256 ones (Supabase's legacy JWT secret) with `hs256`.
 */
export async function startSessionFunction(
  databaseUrl: string,
  options: {
    hs256?: boolean;
    signer?: "webcrypto" | "noble";
    prepare?: "on" | "off";
    /** Extra flags for `deno run` (e.g. `--cpu-prof`). */
    denoArgs?: readonly string[];
    /** The checkout whose function runs (default: this one), for before/after comparisons. */
    root?: string;
  } = {},
): Promise<SessionFunction> {
  const clerk: ClerkIssuer = await startClerkIssuer(APP_ORIGIN);
  const signing: Record<string, string> = options.hs256
    ? { SESSION_JWT_SECRET: refreshSecret() }
    : { SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()) };
  const settings: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    CLERK_ISSUER: clerk.issuer,
    CLERK_JWT_KEY: clerk.publicKeyPem,
    CLERK_AUTHORIZED_PARTIES: APP_ORIGIN,
    SESSION_ISSUER,
    ...signing,
    SESSION_REFRESH_SECRET: refreshSecret(),
    SESSION_RATE_LIMITS: "off",
    ...(options.signer ? { SESSION_SIGNER: options.signer } : {}),
    ...(options.prepare ? { SESSION_DB_PREPARE: options.prepare } : {}),
    HOST: "127.0.0.1",
    PORT: "0",
  };
  let server: Server;
  try {
    server = await startServer({
      name: "session function",
      command: DENO,
      args: [
        "run",
        "-A",
        "--quiet",
        ...(options.denoArgs ?? []),
        path.join(options.root ?? repoRoot, "supabase", "functions", "session", "index.ts"),
      ],
      env: settings,
      ready: /listening on (http:\/\/[\d.]+:\d+)/,
    });
  } catch (error) {
    await clerk.stop();
    throw error;
  }
  const base = `${server.origin}/functions/v1/session`;
  const startOne = async (): Promise<string> => {
    const response = await fetch(`${base}/start`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await clerk.token({ sub: clerkId("user") })}`,
        "content-type": "application/json",
        ...CLIENT_HEADERS,
      },
      body: JSON.stringify({ device_name: "bench" }),
    });
    const body = await response.json() as { refresh_token?: string };
    if (response.status !== 200 || typeof body.refresh_token !== "string") {
      throw new Error(`/start answered ${response.status} ${JSON.stringify(body)}`);
    }
    return body.refresh_token;
  };
  return {
    server,
    settings,
    target: {
      name: options.hs256 ? "sessionguard (HS256)" : `sessionguard${options.signer ? ` (${options.signer})` : ""}`,
      url: `${base}/refresh`,
      headers: { "content-type": "application/json", ...CLIENT_HEADERS },
      body: (token) => JSON.stringify({ refresh_token: token }),
      successor: jsonField("refresh_token"),
    },
    async startSessions(count) {
      const tokens: string[] = [];
      for (let from = 0; from < count; from += 16) {
        const batch = Math.min(16, count - from);
        tokens.push(...await Promise.all(Array.from({ length: batch }, startOne)));
      }
      return tokens;
    },
    async stop() {
      await Promise.allSettled([server.stop(), clerk.stop()]);
    },
  };
}

/** Starts the `select 1` baseline (or, with `bare`, the no-database one), with extra `deno run` flags if given. */
export async function startBaseline(
  databaseUrl: string,
  bare = false,
  denoArgs: readonly string[] = [],
): Promise<{ server: Server; target: Target }> {
  const server = await startServer({
    name: bare ? "bare baseline" : "baseline",
    command: DENO,
    args: ["run", "-A", "--quiet", ...denoArgs, path.join(repoRoot, "bench", "servers", "baseline.ts")],
    env: { DATABASE_URL: databaseUrl, PORT: "0", ...(bare ? { BENCH_BASELINE: "bare" } : {}) },
    ready: /listening on (http:\/\/[\d.]+:\d+)/,
  });
  return {
    server,
    target: {
      name: bare ? "bare Deno.serve" : "Deno.serve + select 1",
      url: `${server.origin}/refresh`,
      headers: { "content-type": "application/json", ...CLIENT_HEADERS },
      // Same body shape and size as a real refresh.
      body: (token) => JSON.stringify({ refresh_token: token }),
      successor: () => "x".repeat(112),
    },
  };
}

export interface Peer {
  readonly server: Server;
  readonly target: Target;
  mint(count: number): Promise<string[]>;
  /** SQL statements its adapter has sent so far (0 in memory). */
  statements(): Promise<number>;
}

/**
 * Starts oidc-provider under Node: in memory with opaque access tokens (default),
 * or as in production (`store: "postgres"`): durable tokens in `databaseUrl`
 * and an ES256 JWT access token on every refresh (bench/peer/oidc-server.ts).
 */
export async function startPeer(
  options: { store?: "memory" | "postgres"; databaseUrl?: string } = {},
): Promise<Peer> {
  const port = await freePort();
  const store = options.store ?? "memory";
  const server = await startServer({
    name: store === "postgres" ? "oidc-provider (Postgres, JWT)" : "oidc-provider",
    command: process.execPath,
    args: ["--import", "tsx", path.join(repoRoot, "bench", "peer", "oidc-server.ts")],
    env: {
      PORT: String(port),
      NODE_ENV: "production",
      PEER_STORE: store,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    },
    ready: /listening on (http:\/\/[\d.]+:\d+) control/,
  });
  const control = /control (http:\/\/[\d.]+:\d+)/.exec(server.output())?.[1];
  if (!control) {
    await server.stop();
    throw new Error(`oidc-provider printed no control address:\n${server.output()}`);
  }
  return {
    server,
    async statements() {
      const response = await fetch(`${control}/stats`);
      return ((await response.json()) as { statements: number }).statements;
    },
    target: {
      name: store === "postgres" ? "oidc-provider (Postgres, JWT)" : "oidc-provider",
      url: `${server.origin}/token`,
      headers: { "content-type": "application/x-www-form-urlencoded", ...CLIENT_HEADERS },
      body: (token) => `grant_type=refresh_token&client_id=bench&refresh_token=${encodeURIComponent(token)}`,
      successor: jsonField("refresh_token"),
    },
    async mint(count) {
      const response = await fetch(`${control}/mint?n=${count}`);
      const { tokens } = await response.json() as { tokens: string[] };
      if (tokens.length !== count) {
        throw new Error(`oidc-provider minted ${tokens.length} of ${count} tokens`);
      }
      return tokens;
    },
  };
}

function jsonField(name: string): (body: string) => string | null {
  return (body) => {
    try {
      const value = (JSON.parse(body) as Record<string, unknown>)[name];
      return typeof value === "string" ? value : null;
    } catch {
      return null;
    }
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
