/**
 * Verification of Clerk session tokens (P10), the one moment sessionguard
 * trusts Clerk: at `/start`.
 *
 * Signature against the instance's JWKS (one remote key set per URL, at module
 * scope, so warm invocations reuse it; jose refetches on an unknown `kid` at
 * most once per cooldown) or against a pinned PEM key with no network; RS256
 * only; `iss` pinned; `azp`, when present, in the allowlist; 5 s of skew on
 * `exp`/`nbf`; pending sessions refused. Whatever fails, the client learns only
 * `invalid_token`: the reason is the error's internal detail, for the log.
 *
 * Only session tokens start sessions, not tokens of a JWT template. Per Clerk's
 * docs (clerk/clerk-docs `docs/guides/sessions/session-tokens.mdx` and
 * `jwt-templates.mdx`): every session token carries `sid` and `fva` (factor
 * verification age, two integers), v2 tokens also `v: 2`, and lives 60 s; a
 * template's token carries only `azp exp iat iss jti nbf sub` by default,
 * "session-tied claims like `sid`, `v`, `pla`, or `fea` cannot be included", and
 * its lifetime is whatever the template says. So a token needs `sid`, an `fva`
 * pair, a `v` that is absent (v1, deprecated) or an integer of at least 2, and
 * `exp - iat` of at most 60 s. An `act` claim (impersonation: `act.sub` is the
 * impersonator) is returned as the actor, so the session can record it and live
 * shorter. The active organization (v2 `o`, v1 `org_*`) and the verification
 * age (`fva`) are read by clerk-claims.ts; a malformed one refuses the token.
 */
import { createRemoteJWKSet, importSPKI, type JWTPayload, jwtVerify } from "jose";
import type { Config } from "./config.ts";
import { type ClerkSessionClaims, parseClerkClaims } from "./clerk-claims.ts";
import { describe } from "./describe-error.ts";
import { ApiError } from "./errors.ts";

/** Who a verified Clerk session token speaks for. */
export interface ClerkIdentity {
  /** Clerk user id (`user_...`), the `sub` of every access token. */
  readonly userId: string;
  /** Clerk session id (`sess_...`), recorded on the session so webhooks can end it. */
  readonly clerkSessionId: string;
  /** Clerk user id of an impersonator (`act.sub`), or null for the user's own session. */
  readonly actorId: string | null;
  /** The token's `iat`: a claims update with an older token is stale. */
  readonly issuedAt: Date;
  /** The active organization and the latest factor verification. */
  readonly claims: ClerkSessionClaims;
}

/** Verifies a Clerk session token at `now`; throws `invalid_token`. */
export type ClerkVerifier = (token: string, now: Date) => Promise<ClerkIdentity>;

type KeySource = ReturnType<typeof createRemoteJWKSet> | CryptoKey;

const CLOCK_TOLERANCE_SECONDS = 5;
/** Clerk session tokens live 60 s; a longer-lived token comes from a JWT template. */
const MAX_SESSION_TOKEN_LIFETIME_SECONDS = 60;
const REMOTE_KEY_SET_OPTIONS = { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 };

/** One remote key set per URL for the life of the isolate. */
const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function remoteKeySet(url: string): ReturnType<typeof createRemoteJWKSet> {
  let keySet = remoteKeySets.get(url);
  if (keySet === undefined) {
    keySet = createRemoteJWKSet(new URL(url), REMOTE_KEY_SET_OPTIONS);
    remoteKeySets.set(url, keySet);
  }
  return keySet;
}

/** Builds the verifier; imports the pinned PEM key when `CLERK_JWT_KEY` is set. */
export async function createClerkVerifier(clerk: Config["clerk"]): Promise<ClerkVerifier> {
  const keys: KeySource = clerk.jwtKey === null
    ? remoteKeySet(clerk.jwksUrl)
    : await importSPKI(clerk.jwtKey, "RS256");
  const parties = new Set(clerk.authorizedParties);

  return async (token, now) => {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: ["RS256"],
        issuer: clerk.issuer,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: now,
        requiredClaims: ["sub", "sid", "exp", "iat"],
      };
      ({ payload } = typeof keys === "function"
        ? await jwtVerify(token, keys, options)
        : await jwtVerify(token, keys, options));
    } catch (error) {
      throw refused(describe(error));
    }

    const { sub, sid, azp, sts, v, fva, act, iat, exp } = payload;
    if (typeof sub !== "string" || sub === "" || sub.length > 255) throw refused("sub is not a user id");
    if (typeof sid !== "string" || sid === "" || sid.length > 255) throw refused("sid is not a session id");
    if (!Array.isArray(fva) || fva.length !== 2 || !fva.every(Number.isInteger)) {
      throw refused("no fva pair: not a Clerk session token (a JWT template's?)");
    }
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 2)) {
      throw refused(`v ${JSON.stringify(v)} is not a session token version`);
    }
    if ((exp as number) - (iat as number) > MAX_SESSION_TOKEN_LIFETIME_SECONDS) {
      throw refused(
        `lives ${(exp as number) - (iat as number)} s: not a Clerk session token (a JWT template's?)`,
      );
    }
    let actorId: string | null = null;
    if (act !== undefined) {
      const actor = typeof act === "object" && act !== null ? (act as { sub?: unknown }).sub : undefined;
      if (typeof actor !== "string" || actor === "" || actor.length > 255) {
        throw refused("act names no actor");
      }
      actorId = actor;
    }
    if (azp !== undefined) {
      if (typeof azp !== "string") throw refused("azp is not a string");
      if (parties.size > 0 && !parties.has(azp.replace(/\/$/, ""))) {
        throw refused(`azp ${JSON.stringify(azp)} is not in CLERK_AUTHORIZED_PARTIES`);
      }
    }
    // A pending session has signed in but still owes a step (e.g. choosing an organization).
    if (sts === "pending") throw refused("session status is pending");
    let claims: ClerkSessionClaims;
    try {
      claims = parseClerkClaims(payload);
    } catch (error) {
      throw refused(describe(error));
    }
    return { userId: sub, clerkSessionId: sid, actorId, issuedAt: new Date((iat as number) * 1000), claims };
  };
}

function refused(reason: string): ApiError {
  return new ApiError("invalid_token", {
    description: "The Clerk session token is missing, invalid or expired.",
    detail: `clerk token refused: ${reason}`,
  });
}
