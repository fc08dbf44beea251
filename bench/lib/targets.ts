/**
 * The HTTP servers the bench loads, each started as in production and each able to
 * hand out the tokens its load presents:
 *  - the real session function entrypoint under Deno, with freshly generated keys and
 *    a local Clerk-like issuer for /start (scripts/lib/function-server.ts);
 *  - the baseline: bench/servers/baseline.ts under Deno (one `select 1` per request);
 *  - the peer: oidc-provider under Node (bench/peer/oidc-server.ts).
 */
import path from "node:path";
import { clerkId, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { startFunctionServer } from "../../scripts/lib/function-server.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { DENO, repoRoot, startUntil } from "../../scripts/lib/process.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import type { Target, Tokens } from "./load.ts";

const APP_ORIGIN = "http://localhost:3000";
const SESSION_ISSUER = "http://localhost:54321/functions/v1/session";
/** Headers every load request carries, as hosted Supabase's Cloudflare front sets them (SESSION_CLIENT_IP's default). */
const CLIENT_HEADERS = { "cf-connecting-ip": "203.0.113.7", "user-agent": "sessionguard-bench/1" };
/** A body the baselines take: the size of a real refresh's. */
const FILLER = "x".repeat(112);

/** A started server under load. */
export interface Server {
  readonly pid: number;
  readonly target: Target;
  /** `n` tokens for `n` connections, one each: live refresh tokens, or filler for a baseline. */
  tokens(n: number): Promise<Tokens>;
  stop(): Promise<void>;
}

export interface SessionFunction extends Server {
  /** The settings it runs with (secrets included; never printed). */
  readonly settings: Readonly<Record<string, string>>;
}

/**
 * Starts the real session function against `databaseUrl`, signing ES256 access tokens,
 * or HS256 ones (Supabase's legacy JWT secret) with `hs256`.
 *
 * Prepared statements on unless `prepare` says otherwise: the bench's database is a
 * direct connection, where `SESSION_DB_PREPARE=on` (or `auto` on Supabase's direct and
 * session-mode hosts) is what docs/deploy.md advises, and every side it is compared with
 * prepares too (postgres.js in the select-1 baseline by default, oidc-provider's adapter;
 * scenario 9 counts the parses). The function's own default, `off`, is for a transaction
 * pooler; figure 10 measures what preparing saves.
 */
export async function startSessionFunction(
  databaseUrl: string,
  options: { hs256?: boolean; signer?: "webcrypto" | "noble"; prepare?: "on" | "off"; denoArgs?: readonly string[] } = {},
): Promise<SessionFunction> {
  const clerk = await startClerkIssuer(APP_ORIGIN);
  const settings: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    CLERK_ISSUER: clerk.issuer,
    CLERK_JWT_KEY: clerk.publicKeyPem,
    CLERK_AUTHORIZED_PARTIES: APP_ORIGIN,
    SESSION_ISSUER,
    ...(options.hs256 ? { SESSION_JWT_SECRET: refreshSecret() } : { SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()) }),
    SESSION_REFRESH_SECRET: refreshSecret(),
    SESSION_RATE_LIMITS: "off",
    ...(options.signer ? { SESSION_SIGNER: options.signer } : {}),
    SESSION_DB_PREPARE: options.prepare ?? "on",
  };
  const server = await startFunctionServer("session", settings, { denoArgs: options.denoArgs }).catch(async (error) => {
    await clerk.stop();
    throw error;
  });
  const startOne = async (): Promise<string> => {
    const response = await fetch(`${server.url}/start`, {
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
    pid: server.pid,
    settings,
    target: {
      name: options.hs256 ? "sessionguard (HS256)" : `sessionguard${options.signer ? ` (${options.signer})` : ""}`,
      url: `${server.url}/refresh`,
      headers: { "content-type": "application/json", ...CLIENT_HEADERS },
      body: (token) => JSON.stringify({ refresh_token: token }),
      successor: jsonField("refresh_token"),
    },
    async tokens(count) {
      const tokens: string[] = [];
      while (tokens.length < count) {
        tokens.push(...await Promise.all(Array.from({ length: Math.min(16, count - tokens.length) }, startOne)));
      }
      return { kind: "per-connection", tokens };
    },
    async stop() {
      await Promise.allSettled([server.stop(), clerk.stop()]);
    },
  };
}

/** Starts the `select 1` baseline (or, with `bare`, the no-database one), with extra `deno run` flags if given. */
export async function startBaseline(
  databaseUrl: string,
  options: { bare?: boolean; denoArgs?: readonly string[] } = {},
): Promise<Server> {
  const name = options.bare ? "bare baseline" : "baseline";
  const server = await startUntil(name, {
    command: DENO,
    args: ["run", "-A", "--quiet", ...(options.denoArgs ?? []), path.join(repoRoot, "bench", "servers", "baseline.ts")],
    env: { DATABASE_URL: databaseUrl, PORT: "0", ...(options.bare ? { BENCH_BASELINE: "bare" } : {}) },
    ready: /listening on (http:\/\/[\d.]+:\d+)/,
  });
  return {
    pid: server.pid,
    target: {
      name: options.bare ? "bare Deno.serve" : "Deno.serve + select 1",
      url: `${server.ready[1]}/refresh`,
      headers: { "content-type": "application/json", ...CLIENT_HEADERS },
      body: (token) => JSON.stringify({ refresh_token: token }),
      successor: () => FILLER,
    },
    tokens: (n) => Promise.resolve({ kind: "per-connection", tokens: Array(n).fill(FILLER) }),
    stop: () => server.stop(),
  };
}

/**
 * Starts oidc-provider under Node: in memory with opaque access tokens, or as in
 * production (`postgres`): durable tokens in `databaseUrl` and an ES256 JWT access
 * token on every refresh (bench/peer/oidc-server.ts).
 */
export async function startPeer(store: "memory" | "postgres", databaseUrl: string): Promise<Server> {
  const name = store === "postgres" ? "oidc-provider (Postgres, JWT)" : "oidc-provider";
  const server = await startUntil(name, {
    command: process.execPath,
    args: ["--import", "tsx", path.join(repoRoot, "bench", "peer", "oidc-server.ts")],
    env: { PORT: String(await freePort()), NODE_ENV: "production", PEER_STORE: store, DATABASE_URL: databaseUrl },
    ready: /listening on (http:\/\/[\d.]+:\d+) control (http:\/\/[\d.]+:\d+)/,
  });
  const [, origin, control] = server.ready;
  return {
    pid: server.pid,
    target: {
      name,
      url: `${origin}/token`,
      headers: { "content-type": "application/x-www-form-urlencoded", ...CLIENT_HEADERS },
      body: (token) => `grant_type=refresh_token&client_id=bench&refresh_token=${encodeURIComponent(token)}`,
      successor: jsonField("refresh_token"),
    },
    async tokens(count) {
      const { tokens } = await (await fetch(`${control}/mint?n=${count}`)).json() as { tokens: string[] };
      if (tokens.length !== count) throw new Error(`oidc-provider minted ${tokens.length} of ${count} tokens`);
      return { kind: "per-connection", tokens };
    },
    stop: () => server.stop(),
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
