/**
 * `requireSession(request)`: for an app's own Edge Functions, the same instant revocation
 * that RLS policies get from `sessionguard.session_active()` (P7).
 *
 * It verifies the request's sessionguard access token (signature against the session
 * function's JWKS, cached at module scope, or the HS256 secret; algorithm, issuer and
 * audience `authenticated` pinned), requires a DPoP proof from the bound key when the
 * token carries `cnf.jkt` (RFC 9449, with ./dpop.ts), and asks the database in one round
 * trip whether the session still lives (`sessionguard.check_access`, which also refuses
 * a replayed proof). It answers the session's identity, or a ready 401 Response in the
 * API's error shape: clients learn only the code, the reason goes to the log.
 *
 *   const requireSession = createRequireSession({ issuer, jwksUrl, sql });
 *   const session = await requireSession(req);
 *   if (session instanceof Response) return session;
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Sql } from "postgres";
import { accessToken } from "./authorization.ts";
import { createDpopVerifier, type DpopVerifier } from "./dpop.ts";
import { ApiError, type ErrorCode, errorResponse, toApiError } from "./errors.ts";
import { verifyAccessToken } from "./verify-access-token.ts";

/** Who is calling: the verified token's user and live session. */
export interface SessionIdentity {
  /** Clerk user id (`sub`). */
  readonly userId: string;
  /** sessionguard session id (`sid`). */
  readonly sessionId: string;
  /** Active organization, when the token names one (`org_id`, or Clerk v2's `o.id`). */
  readonly orgId?: string;
  /** Every verified claim. */
  readonly claims: JWTPayload;
}

/** Checks a request; resolves to the caller or to the 401 (or 500) to answer with. */
export type RequireSession = (request: Request) => Promise<SessionIdentity | Response>;

export interface RequireSessionOptions {
  /** `iss` of access tokens (`SESSION_ISSUER`). */
  readonly issuer: string;
  /** The session function's `/.well-known/jwks.json`, for ES256 tokens. */
  readonly jwksUrl?: string;
  /** The project's legacy HS256 secret (`SESSION_JWT_SECRET`), instead of `jwksUrl`. */
  readonly jwtSecret?: string;
  /** A postgres.js client whose role may execute `sessionguard.check_access`. */
  readonly sql: Sql;
  /**
   * Public base URLs the app's functions are called at, e.g.
   * `https://<ref>.supabase.co/functions/v1`: a DPoP proof signs the URL the client
   * called, which Supabase's gateway rewrites before the function sees it.
   */
  readonly publicFunctionsUrls?: readonly string[];
  readonly now?: () => Date;
  /** Where the reason of a refusal goes; never to the client. */
  readonly log?: (line: string) => void;
}

/** What check_access answers for a dead session, as the API's error codes. */
const DEAD = new Map<string, ErrorCode>([["revoked", "session_revoked"], ["expired", "session_expired"]]);
/** Proof verifiers kept per function name; the name comes from the request path, so bounded. */
const MAX_VERIFIERS = 32;

/** Builds the check once (module scope), so the key set is fetched once and cached. */
export function createRequireSession(options: RequireSessionOptions): RequireSession {
  if (!options.issuer) throw new Error("createRequireSession: issuer is required");
  if (Boolean(options.jwksUrl) === Boolean(options.jwtSecret)) {
    throw new Error("createRequireSession: give exactly one of jwksUrl and jwtSecret");
  }
  const now = options.now ?? (() => new Date());
  const log = options.log ?? ((line: string) => console.warn(line));
  const algorithms = options.jwksUrl ? ["ES256"] : ["HS256"];
  const key: JWTVerifyGetKey | Uint8Array = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
    : new TextEncoder().encode(options.jwtSecret);
  const proofs = new Map<string, DpopVerifier>();

  /**
   * A proof verifier per function. The function's name is the first path segment the
   * function sees (Supabase's gateway strips `/functions/v1`), or the one after it.
   */
  const verifierFor = (request: Request): DpopVerifier => {
    const segments = new URL(request.url).pathname.split("/").filter(Boolean);
    const fn = (segments[0] === "functions" && segments[1] === "v1" ? segments[2] : segments[0]) ?? "";
    let verifier = proofs.get(fn);
    if (!verifier) {
      verifier = createDpopVerifier({
        // Nonces are off here, so this secret signs nothing a client ever sees.
        secrets: [crypto.randomUUID()],
        publicUrls: (options.publicFunctionsUrls ?? []).map((base) => `${base.replace(/\/+$/, "")}/${fn}`),
        requireNonce: false,
        mounts: [`/functions/v1/${fn}`, `/${fn}`],
      });
      if (proofs.size < MAX_VERIFIERS) proofs.set(fn, verifier);
    }
    return verifier;
  };

  const check = async (request: Request): Promise<SessionIdentity> => {
    const at = now();
    const token = accessToken(request);
    const { sub, sid, jkt, payload: claims } = await verifyAccessToken(token, key, {
      issuer: options.issuer,
      algorithms,
      now: at,
    });

    let proof: { jkt: string; jti: string } | null = null;
    let proofLifetime = 300;
    if (jkt !== null) {
      // A bound token is worth nothing without a fresh proof from its key (RFC 9449 §7).
      const verifier = verifierFor(request);
      proof = await verifier.verify(request, { now: at, accessToken: token });
      proofLifetime = verifier.replayWindow;
      if (proof === null) throw new ApiError("invalid_dpop_proof", { detail: "bound token without proof" });
      if (proof.jkt !== jkt) throw new ApiError("invalid_dpop_proof", { detail: "proof from another key" });
    }

    const [row] = await options.sql`
      select sessionguard.check_access(${sid}::uuid, ${sub}, ${proof?.jkt ?? null}, ${proof?.jti ?? null},
        ${proofLifetime}::integer, ${at}::timestamptz) as status`;
    const status = row?.status as string | undefined;
    if (status === "dpop_replayed") {
      throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
    }
    if (status !== "active") {
      throw new ApiError(DEAD.get(status ?? "") ?? "invalid_token", { detail: `session ${status}` });
    }
    return Object.freeze({ userId: sub, sessionId: sid, ...orgOf(claims), claims });
  };

  return async (request) => {
    try {
      return await check(request);
    } catch (error) {
      const apiError = toApiError(error);
      log(`requireSession: ${apiError.code}${apiError.detail ? `: ${apiError.detail}` : ""}`);
      return errorResponse(apiError);
    }
  };
}

/** The active organization a token names: `org_id` (Clerk v1), or `o.id` (Clerk v2). */
function orgOf(claims: JWTPayload): { orgId?: string } {
  const v1 = claims.org_id;
  const v2 = (claims.o as { id?: unknown } | undefined)?.id;
  const orgId = typeof v1 === "string" ? v1 : typeof v2 === "string" ? v2 : undefined;
  return orgId ? { orgId } : {};
}
