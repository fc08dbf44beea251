/**
 * Access tokens: short-lived JWTs that Supabase's Data API accepts, so RLS runs
 * as `authenticated` with `sub` = the Clerk user id and `sid` = the session.
 *
 * ES256 from `SESSION_SIGNING_JWK` (public keys published in the JWKS that
 * Supabase's custom OIDC provider reads), or HS256 from the project's legacy
 * `SESSION_JWT_SECRET`. Every configured key verifies and the newest signs, so
 * keys can rotate without signing anyone out.
 */
import { importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import { createEs256Signer, type JwsSigner } from "./signer.ts";

/** The claims sessionguard puts in every access token. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: "authenticated";
  readonly role: "authenticated";
  readonly sid: string;
  readonly iat: number;
  readonly exp: number;
  /** Present when the session is bound to a device key (DPoP): that key's RFC 7638 thumbprint. */
  readonly cnf?: { readonly jkt: string };
}

/** A freshly signed access token. */
export interface SignedAccessToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
}

/** Signs, verifies and publishes access-token keys. */
export interface AccessTokens {
  /**
   * Signs a token for a session. It expires after `SESSION_ACCESS_TTL`, or at
   * `notAfter` (the session's own end) when that comes first. With `jkt` it
   * carries `cnf.jkt`: the session is bound to that device key (RFC 9449 §6).
   */
  sign(
    input: { userId: string; sessionId: string; now: Date; notAfter?: Date; jkt?: string | null },
  ): Promise<SignedAccessToken>;
  /** Verifies signature, issuer, audience and lifetime; throws `invalid_token`. */
  verify(token: string, now: Date): Promise<AccessTokenClaims>;
  /** The public key set (empty for HS256). */
  readonly jwks: { readonly keys: readonly JWK[] };
  /** The discovery document at `/.well-known/openid-configuration`. */
  readonly openidConfiguration: Readonly<Record<string, unknown>>;
}

interface Key {
  readonly kid: string;
  readonly alg: "ES256" | "HS256";
  readonly verifyKey: CryptoKey | Uint8Array;
}

const CLOCK_TOLERANCE_SECONDS = 5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JKT = /^[A-Za-z0-9_-]{43}$/;

/** Imports the configured keys; throws when a key cannot be imported. */
export async function createAccessTokens(config: Config): Promise<AccessTokens> {
  const { issuer, accessTtl } = config.session;
  const keys: Key[] = [];
  const publicJwks: JWK[] = [];
  let signer: { kid: string; alg: "ES256" | "HS256"; key: JwsSigner | Uint8Array } | undefined;

  for (const jwk of config.signingJwks) {
    const { d: _private, ...publicPart } = jwk;
    const verifyKey = await importJWK({ ...publicPart, alg: "ES256" }, "ES256") as CryptoKey;
    keys.push({ kid: jwk.kid, alg: "ES256", verifyKey });
    publicJwks.push({ ...publicPart, alg: "ES256", use: "sig" });
    // Imported once here; the implementation is SESSION_SIGNER's (functions/signer.ts).
    signer ??= { kid: jwk.kid, alg: "ES256", key: await createEs256Signer(jwk, config.signer) };
  }
  if (config.jwtSecret !== null) {
    const secret = new TextEncoder().encode(config.jwtSecret);
    const kid = await secretKeyId(secret);
    keys.push({ kid, alg: "HS256", verifyKey: secret });
    signer ??= { kid, alg: "HS256", key: secret };
  }
  if (signer === undefined) throw new Error("createAccessTokens: no signing key configured");
  const signWith = signer;
  const algorithms = [...new Set(keys.map((key) => key.alg))];

  return {
    async sign({ userId, sessionId, now, notAfter, jkt }) {
      const iat = Math.floor(now.getTime() / 1000);
      const end = notAfter ? Math.floor(notAfter.getTime() / 1000) : Infinity;
      const exp = Math.max(iat + 1, Math.min(iat + accessTtl, end));
      const claims: AccessTokenClaims = {
        iss: issuer,
        sub: userId,
        aud: "authenticated",
        role: "authenticated",
        sid: sessionId,
        iat,
        exp,
        ...(jkt ? { cnf: { jkt } } : {}),
      };
      const header = { alg: signWith.alg, kid: signWith.kid, typ: "JWT" };
      const token = signWith.key instanceof Uint8Array
        ? await new SignJWT({ ...claims }).setProtectedHeader(header).sign(signWith.key)
        : await signWith.key.sign(header, claims);
      return { token, claims };
    },

    async verify(token, now) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          (header) => {
            const key = keys.find((k) => k.kid === header.kid && k.alg === header.alg);
            if (!key) throw new Error(`unknown kid ${JSON.stringify(header.kid)}`);
            return key.verifyKey;
          },
          {
            algorithms,
            issuer,
            audience: "authenticated",
            clockTolerance: CLOCK_TOLERANCE_SECONDS,
            currentDate: now,
            requiredClaims: ["sub", "sid", "iat", "exp"],
          },
        ));
      } catch (error) {
        throw new ApiError("invalid_token", { detail: `access token: ${describe(error)}` });
      }
      const { sub, sid, role, iat, exp, cnf } = payload;
      if (typeof sub !== "string" || sub === "" || typeof sid !== "string" || !UUID.test(sid)) {
        throw new ApiError("invalid_token", { detail: "access token: bad sub or sid" });
      }
      if (role !== "authenticated") throw new ApiError("invalid_token", { detail: "access token: bad role" });
      let bound: { jkt: string } | undefined;
      if (cnf !== undefined) {
        const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
        if (typeof jkt !== "string" || !JKT.test(jkt)) {
          throw new ApiError("invalid_token", { detail: "access token: bad cnf" });
        }
        bound = { jkt };
      }
      return {
        iss: issuer,
        sub,
        aud: "authenticated",
        role,
        sid,
        iat: iat!,
        exp: exp!,
        ...(bound && { cnf: bound }),
      };
    },

    jwks: Object.freeze({ keys: Object.freeze(publicJwks) }),

    openidConfiguration: Object.freeze({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: algorithms,
      claims_supported: ["iss", "sub", "aud", "role", "sid", "iat", "exp", "cnf"],
    }),
  };
}

/** A stable, non-secret id for an HS256 secret: a short hash of it. */
async function secretKeyId(secret: Uint8Array): Promise<string> {
  const prefix = new TextEncoder().encode("sessionguard access key id\0");
  const input = new Uint8Array(prefix.length + secret.length);
  input.set(prefix);
  input.set(secret, prefix.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return Array.from(digest.slice(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    return "code" in error ? `${String(error.code)} ${error.message}` : error.message;
  }
  return String(error);
}
