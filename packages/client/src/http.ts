/**
 * Requests to the session function: headers, timeout, the DPoP proof signed afresh
 * for each try, the server's nonce and clock offset kept for the next proof, and the
 * reading of its answers. No retry here for lost answers: which requests may be
 * repeated is the caller's decision (refresh.ts repeats `/refresh`, nothing repeats
 * `/start`).
 */
import type { ClientSettings } from "./client-options.ts";
import type { DeviceKey } from "./dpop-proof.ts";
import { SessionError } from "./errors.ts";
import type { TokenResponse } from "./types.ts";

/** A server clock this far from ours (ms) is corrected for in proofs' `iat`; the server allows 60 s. */
const CLOCK_SKEW_MS = 30_000;

/** What one request carries. */
export interface ExchangeOptions {
  /** The credential for `Authorization`. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** ms; default the `requestTimeout` option. */
  timeout?: number;
  /** Signs a DPoP proof for the request. */
  signer?: DeviceKey | null;
  /** The access token in `token` is bound to `signer`: proofs carry its hash. */
  bound?: boolean;
}

/** The HTTP side of one client: it holds the server's latest nonce and clock offset. */
export class Http {
  readonly #settings: ClientSettings;
  /** The server's latest `DPoP-Nonce`. */
  #nonce: string | undefined;
  /** Server clock minus ours (ms), applied to proofs' `iat` once it exceeds {@link CLOCK_SKEW_MS}. */
  #skewMs = 0;

  constructor(settings: ClientSettings) {
    this.#settings = settings;
  }

  /**
   * Sends `method path` with a DPoP proof from `signer` (when given), signed afresh for
   * each try. Retries once when the server asks for its nonce (`use_dpop_nonce`), and
   * once when it refused the proof while its clock (the `Date` header) is far from ours:
   * both refusals come before the server looks at the request, so nothing was spent.
   * Rejects with `network_error` when no answer arrived.
   */
  async exchange(
    method: string,
    path: string,
    options: ExchangeOptions,
  ): Promise<Response> {
    const { signer, bound, ...rest } = options;
    for (let attempt = 0;; attempt++) {
      const dpop = signer
        ? await signer.proof(method, this.#settings.base + path, {
          accessToken: bound ? rest.token : undefined,
          nonce: this.#nonce,
          now: Date.now() + this.#skewMs,
        })
        : undefined;
      const res = await this.#send(method, path, {
        ...rest,
        dpop,
        scheme: bound && signer ? "DPoP" : "Bearer",
      });
      const nonce = res.headers.get("dpop-nonce");
      if (nonce) this.#nonce = nonce;
      if (!signer || attempt > 0 || res.status !== 401) return res;
      const challenge = res.headers.get("www-authenticate") ?? "";
      if (challenge.includes('error="use_dpop_nonce"') && nonce) continue;
      if (
        challenge.includes('error="invalid_dpop_proof"') &&
        this.#correctSkew(res)
      ) continue;
      return res;
    }
  }

  async #send(
    method: string,
    path: string,
    { token, body, timeout, dpop, scheme = "Bearer" }: {
      token?: string;
      body?: unknown;
      timeout?: number;
      /** A DPoP proof for this request. */
      dpop?: string;
      /** `DPoP` for an access token bound to the key that signed `dpop` (RFC 9449 §7.1). */
      scheme?: "Bearer" | "DPoP";
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.#settings.headers };
    if (token) headers["authorization"] = `${scheme} ${token}`;
    if (dpop) headers["dpop"] = dpop;
    if (body !== undefined) headers["content-type"] = "application/json";
    const ms = timeout ?? this.#settings.timeout;
    const signal = typeof AbortSignal.timeout === "function"
      ? AbortSignal.timeout(ms)
      : undefined;
    try {
      return await this.#settings.fetch(this.#settings.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw new SessionError("network_error", `${method} ${path}: no answer`, {
        cause: err,
      });
    }
  }

  /** Adopts the server's clock offset from its `Date` header; true when it changed notably. */
  #correctSkew(res: Response): boolean {
    const date = Date.parse(res.headers.get("date") ?? "");
    if (Number.isNaN(date)) return false;
    const skew = date - Date.now();
    if (Math.abs(skew - this.#skewMs) < CLOCK_SKEW_MS) return false;
    this.#skewMs = Math.abs(skew) < CLOCK_SKEW_MS ? 0 : skew;
    return true;
  }
}

/** The body of a successful `/start` or `/refresh`, checked for the documented shape. */
export async function readTokenResponse(res: Response): Promise<TokenResponse> {
  const t = (await readJson(res)) as Partial<TokenResponse>;
  const ok = typeof t.access_token === "string" &&
    typeof t.refresh_token === "string" &&
    typeof t.expires_in === "number" && typeof t.expires_at === "number" &&
    typeof t.user_id === "string" &&
    !!t.session && typeof t.session.id === "string" &&
    typeof t.session.expires_at === "number";
  if (!ok) throw invalidResponse("token response");
  return t as TokenResponse;
}

/** The array under `field` of a JSON object body (`GET /sessions`, `GET /events`). */
export async function readList<T>(res: Response, field: string): Promise<T[]> {
  const body = await readJson(res);
  const list = (body as Record<string, unknown>)[field];
  if (!Array.isArray(list)) throw invalidResponse(field);
  return list as T[];
}

async function readJson(res: Response): Promise<unknown> {
  try {
    const body: unknown = await res.json();
    if (body && typeof body === "object") return body;
  } catch {
    // fall through
  }
  throw invalidResponse("JSON object");
}

function invalidResponse(what: string): SessionError {
  return new SessionError(
    "invalid_response",
    `the server's answer is not a ${what}`,
  );
}
