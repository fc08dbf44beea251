/**
 * One test "stack": a local Clerk issuer, the real session function in Deno
 * with freshly generated secrets, and a client on the test database.
 */
import { type ApiResponse, call } from "./api.ts";
import { clerkId, type ClerkIssuer, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { openTestDb, type Sql } from "./database-rows.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../../scripts/lib/session-server.ts";
import { testDatabaseUrl } from "./context.ts";

/** The issuer access tokens carry in tests. */
export const SESSION_ISSUER = "http://localhost:54321/functions/v1/session";
/** The app origin that Clerk tokens name in `azp`. */
export const APP_ORIGIN = "http://localhost:3000";

export interface Stack {
  readonly clerk: ClerkIssuer;
  readonly server: SessionServer;
  readonly sql: Sql;
  /** The settings the server runs with (secrets included). */
  readonly settings: Readonly<Record<string, string>>;
  /** `call` against the function's base URL. */
  call(path: string, options?: Parameters<typeof call>[2]): Promise<ApiResponse>;
  /** Signs in a user (new one unless given) through /start; fails the test unless 200. */
  start(userId?: string, headers?: Record<string, string>): Promise<TokenResponse>;
  /** Refreshes; returns the raw response. */
  refresh(refreshToken: string, headers?: Record<string, string>): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  session: { id: string; expires_at: number };
  user_id: string;
}

/** Starts a stack; `settings` override the defaults (undefined removes one). */
export async function startStack(settings: Record<string, string | undefined> = {}): Promise<Stack> {
  const clerk = await startClerkIssuer(APP_ORIGIN);
  const merged: Record<string, string | undefined> = {
    CLERK_ISSUER: clerk.issuer,
    CLERK_AUTHORIZED_PARTIES: APP_ORIGIN,
    SESSION_ISSUER,
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
    SESSION_REFRESH_SECRET: refreshSecret(),
    DATABASE_URL: testDatabaseUrl(),
    // Suites share one database and one client ip (127.0.0.1); the rate-limit tests
    // turn limits on for themselves.
    SESSION_RATE_LIMITS: "off",
    ...settings,
  };
  const clean = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  let server: SessionServer;
  try {
    server = await startSessionServer(clean);
  } catch (error) {
    await clerk.stop();
    throw error;
  }
  const sql = openTestDb();
  const stack: Stack = {
    clerk,
    server,
    sql,
    settings: clean,
    call: (path, options) => call(server.url, path, options),
    async start(userId = clerkId("user"), headers = {}) {
      const response = await stack.call("/start", {
        method: "POST",
        token: await clerk.token({ sub: userId }),
        headers,
      });
      if (response.status !== 200) throw new Error(`start failed: ${JSON.stringify(response.body)}`);
      return response.body as TokenResponse;
    },
    refresh: (refreshToken, headers) =>
      stack.call("/refresh", { json: { refresh_token: refreshToken }, headers }),
    async stop() {
      await Promise.allSettled([server.stop(), clerk.stop(), sql.end({ timeout: 5 })]);
    },
  };
  return stack;
}
