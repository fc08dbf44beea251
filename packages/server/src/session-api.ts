/**
 * Server-to-server calls to the session function (docs/contract.md, "HTTP API"), with the server's
 * DPoP proof on each when a key is configured. Errors become {@link SessionGuardError}
 * with the function's own code; a `use_dpop_nonce` answer is retried once with the nonce.
 */
import type { DeviceSession, SecurityEvent, TokenResponse } from "@sessionguard/client";
import { SessionGuardError } from "./errors.ts";
import type { ServerKey } from "./server-key.ts";

export type { DeviceSession, SecurityEvent, TokenResponse };

/** An access token and its type (`bearer`, or `DPoP` when it needs a proof with its hash). */
export interface AccessToken {
  readonly token: string;
  readonly type: string;
}

/** Facts about the browser the server acts for, forwarded so the device list names it. */
export interface ClientFacts {
  readonly userAgent?: string | null;
  readonly forwardedFor?: string | null;
  /**
   * The browser's address, sent as `Sessionguard-Client-IP`. The function uses it only
   * when this server's key is in its `SESSION_FORWARDING_KEYS`.
   */
  readonly address?: string | null;
}

export interface SessionApi {
  start(clerkToken: string, deviceName: string | undefined, client: ClientFacts): Promise<TokenResponse>;
  refresh(refreshToken: string, client: ClientFacts): Promise<TokenResponse>;
  signOut(access: AccessToken, scope: "local" | "others" | "global"): Promise<void>;
  sessions(access: AccessToken): Promise<DeviceSession[]>;
  revoke(access: AccessToken, sessionId: string): Promise<void>;
  events(access: AccessToken): Promise<SecurityEvent[]>;
}

const TIMEOUT_MS = 10_000;

/** The API of the session function at `baseUrl` (e.g. `https://<ref>.supabase.co/functions/v1/session`). */
export function sessionApi(baseUrl: string, key: ServerKey | null, fetchImpl: typeof fetch = fetch): SessionApi {
  if (typeof baseUrl !== "string" || !/^https?:\/\//.test(baseUrl)) {
    throw new TypeError(`sessionguard: sessionUrl must be the session function's http(s) URL (got ${String(baseUrl)})`);
  }
  const base = baseUrl.replace(/\/+$/, "");
  let nonce: string | undefined;

  async function call(method: string, path: string, init: {
    body?: unknown;
    bearer?: string;
    access?: AccessToken;
    client?: ClientFacts;
  }): Promise<Response> {
    const url = `${base}${path}`;
    for (let attempt = 0;; attempt++) {
      const headers = new Headers({ accept: "application/json" });
      if (init.body !== undefined) headers.set("content-type", "application/json");
      if (init.client?.userAgent) headers.set("user-agent", init.client.userAgent);
      if (init.client?.forwardedFor) headers.set("x-forwarded-for", init.client.forwardedFor);
      if (init.client?.address) headers.set("sessionguard-client-ip", init.client.address);
      if (init.bearer) headers.set("authorization", `Bearer ${init.bearer}`);
      const bound = init.access?.type.toLowerCase() === "dpop";
      if (init.access) headers.set("authorization", `${bound ? "DPoP" : "Bearer"} ${init.access.token}`);
      if (key) {
        const options = { ...(bound ? { accessToken: init.access!.token } : {}), ...(nonce ? { nonce } : {}) };
        headers.set("dpop", await key.proof(method, url, options));
      }
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
          cache: "no-store",
        });
      } catch (err) {
        throw new SessionGuardError("network_error", `the session function did not answer: ${(err as Error).message}`);
      }
      const fresh = response.headers.get("dpop-nonce");
      if (fresh) nonce = fresh;
      if (response.ok) return response;
      const error = await errorOf(response);
      // One retry with the nonce the function just gave (RFC 9449 §8): the refresh token was not spent.
      if (error.code === "use_dpop_nonce" && fresh && attempt === 0) continue;
      throw error;
    }
  }

  const tokens = async (response: Response): Promise<TokenResponse> => {
    const body = await json(response) as Partial<TokenResponse>;
    if (
      typeof body.access_token !== "string" || typeof body.refresh_token !== "string" ||
      typeof body.expires_at !== "number" || typeof body.session?.id !== "string" || typeof body.user_id !== "string"
    ) throw new SessionGuardError("invalid_response", "the session function answered an unexpected token response");
    return body as TokenResponse;
  };

  return {
    async start(clerkToken, deviceName, client) {
      const body = deviceName ? { device_name: deviceName } : {};
      return await tokens(await call("POST", "/start", { bearer: clerkToken, body, client }));
    },
    async refresh(refreshToken, client) {
      return await tokens(await call("POST", "/refresh", { body: { refresh_token: refreshToken }, client }));
    },
    async signOut(access, scope) {
      await call("POST", "/signout", { access, body: { scope } });
    },
    async sessions(access) {
      return ((await json(await call("GET", "/sessions", { access }))) as { sessions: DeviceSession[] }).sessions;
    },
    async revoke(access, sessionId) {
      await call("DELETE", `/sessions/${encodeURIComponent(sessionId)}`, { access });
    },
    async events(access) {
      return ((await json(await call("GET", "/events", { access }))) as { events: SecurityEvent[] }).events;
    },
  };
}

async function json(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw new SessionGuardError("invalid_response", `the session function answered ${response.status} without JSON`);
  }
}

async function errorOf(response: Response): Promise<SessionGuardError> {
  const body = await response.json().catch(() => null) as { error?: unknown; error_description?: unknown } | null;
  const code = typeof body?.error === "string" ? body.error : "server_error";
  const text = typeof body?.error_description === "string" ? body.error_description : `HTTP ${response.status}`;
  return new SessionGuardError(code, text, response.status);
}
