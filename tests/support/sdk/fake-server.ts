/**
 * An in-process stand-in for the session function, as a `fetch`, for the SDK's
 * client-logic unit tests only (single-flight, retries, events). It keeps the server's
 * rotation rules that the client relies on: one-time refresh tokens, the identical
 * successor for the just-rotated token within the grace window, reuse of anything older
 * revokes the family. Integration tests use the real Deno server instead.
 */
export interface FakeServerOptions {
  /** Access token lifetime, s. */
  accessTtl?: number;
  /** Reuse grace, s. */
  grace?: number;
  /** Clock in ms shared with the client under test. */
  now?: () => number;
}

interface Family {
  id: string;
  userId: string;
  generation: number;
  rotatedAt: number;
  revoked: boolean;
  deviceName: string | null;
}

export type Fault =
  /** The request never reaches the server. */
  | "drop-request"
  /** The server processes the request, then the answer is lost. */
  | "drop-response"
  | "503";

export class FakeSessionServer {
  readonly calls: {
    method: string;
    path: string;
    body: unknown;
    authorization: string | null;
  }[] = [];
  readonly families = new Map<string, Family>();
  /** Faults applied to the next requests to a path, in order. */
  readonly faults = new Map<string, Fault[]>();
  /** Extra latency per request, ms. */
  latency = 0;
  #accessTtl: number;
  #grace: number;
  #now: () => number;
  #seq = 0;

  constructor(options: FakeServerOptions = {}) {
    this.#accessTtl = options.accessTtl ?? 600;
    this.#grace = options.grace ?? 10;
    this.#now = options.now ?? Date.now;
  }

  refreshCalls(): number {
    return this.calls.filter((c) => c.path === "/refresh").length;
  }

  fail(path: string, ...faults: Fault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  readonly fetch = async (
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> => {
    const url = new URL(
      typeof input === "string" || input instanceof URL ? input : input.url,
    );
    const path = url.pathname.replace(/^.*\/functions\/v1\/session/, "");
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const method = init?.method ?? "GET";
    const fault = this.faults.get(path)?.shift();
    if (fault === "drop-request") throw new TypeError("fetch failed");
    this.calls.push({
      method,
      path,
      body,
      authorization: headers.get("authorization"),
    });
    if (this.latency) await new Promise((r) => setTimeout(r, this.latency));
    if (fault === "503") {
      return json(503, {
        error: "server_error",
        error_description: "unavailable",
      });
    }
    const res = this.#handle(method, path, body, headers);
    if (fault === "drop-response") throw new TypeError("fetch failed");
    return res;
  };

  #handle(method: string, path: string, body: any, headers: Headers): Response {
    const auth = headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (method === "POST" && path === "/start") {
      if (!auth.startsWith("clerk:")) return error(401, "invalid_token");
      const family: Family = {
        id: `fam-${this.families.size + 1}`,
        userId: auth.slice("clerk:".length),
        generation: 0,
        rotatedAt: this.#now(),
        revoked: false,
        deviceName: body?.device_name ?? null,
      };
      this.families.set(family.id, family);
      return this.#tokens(family, family.generation);
    }
    if (method === "POST" && path === "/refresh") {
      const [fid, gen] = String(body?.refresh_token ?? "").split(".");
      const family = this.families.get(fid ?? "");
      const generation = Number(gen);
      if (
        !family || !Number.isInteger(generation) ||
        generation > family.generation
      ) {
        return error(401, "invalid_refresh_token");
      }
      if (family.revoked) return error(401, "session_revoked");
      if (generation === family.generation) {
        family.generation++;
        family.rotatedAt = this.#now();
        return this.#tokens(family, family.generation);
      }
      if (
        generation === family.generation - 1 &&
        this.#now() - family.rotatedAt < this.#grace * 1000
      ) {
        return this.#tokens(family, family.generation);
      }
      family.revoked = true;
      return error(401, "refresh_token_reused");
    }
    const family = this.#familyOfAccess(auth);
    if (!family) return error(401, "invalid_token");
    if (family.revoked) return error(401, "session_revoked");
    if (method === "POST" && path === "/signout") {
      const scope = body?.scope ?? "local";
      for (const f of this.families.values()) {
        if (f.userId !== family.userId) continue;
        if (
          scope === "global" || (scope === "local" && f === family) ||
          (scope === "others" && f !== family)
        ) {
          f.revoked = true;
        }
      }
      return new Response(null, { status: 204 });
    }
    if (method === "GET" && path === "/sessions") {
      const sessions = [...this.families.values()]
        .filter((f) => f.userId === family.userId && !f.revoked)
        .map((f) => ({
          id: f.id,
          device_name: f.deviceName,
          current: f === family,
        }));
      return json(200, { sessions });
    }
    if (method === "DELETE" && path.startsWith("/sessions/")) {
      const target = this.families.get(
        decodeURIComponent(path.slice("/sessions/".length)),
      );
      if (!target || target.userId !== family.userId) {
        return error(404, "not_found");
      }
      target.revoked = true;
      return new Response(null, { status: 204 });
    }
    if (method === "GET" && path === "/events") {
      return json(200, { events: [] });
    }
    return error(404, "not_found");
  }

  #familyOfAccess(token: string): Family | undefined {
    const m = /^access:([^:]+):/.exec(token);
    return m ? this.families.get(m[1]!) : undefined;
  }

  #tokens(family: Family, generation: number): Response {
    const now = Math.floor(this.#now() / 1000);
    return json(200, {
      access_token: `access:${family.id}:${generation}:${++this.#seq}`,
      token_type: "bearer",
      expires_in: this.#accessTtl,
      expires_at: now + this.#accessTtl,
      refresh_token: `${family.id}.${generation}`,
      session: { id: family.id, expires_at: now + 30 * 86400 },
      user_id: family.userId,
    });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function error(status: number, code: string): Response {
  return json(status, {
    error: code,
    error_description: code.replaceAll("_", " "),
  });
}
