/**
 * How Supabase Storage accepts a JWT, written from its source: supabase/storage
 * `src/internal/auth/jwt.ts` at v1.70.6 (commit 4fa61fba), `findJWKFromHeader`,
 * `kidsMatch`, `getJWTAlgorithms` and `verifyJWT`; `src/internal/auth/jwks/kid.ts`,
 * `normalizeUrlSigningKid`.
 *
 * - Without a JWK set: the JWT secret (`jwtAlgorithm`, HS256 on Supabase).
 * - HS*: no `kid` and the configured algorithm → the secret; else the first `oct` key
 *   with a `k` and either no `kid` or a matching one (`kidsMatch`: equal, or equal once
 *   a legacy "storage-url-signing-key_" prefix is stripped); such a key whose own `alg`
 *   differs from the header's is refused (AccessDenied); none → the secret.
 * - Asymmetric: the first key of the algorithm's type (ES* → EC, RS* → RSA, EdDSA →
 *   OKP) whose `kid` equals the header's exactly (or, only when the token has no `kid`,
 *   one without a `kid`), and whose own `alg`, if any, is the header's; none → the
 *   secret (which cannot verify an asymmetric token).
 * - jose's `jwtVerify` with `algorithms` = the configured one plus every family the
 *   set holds, no clock tolerance: `exp` must be in the future, `nbf` not.
 *
 * Storage then runs the request as the token's `role` (RLS on storage.objects).
 */
import { importJWK, type JWK, type JWTHeaderParameters, type JWTPayload, jwtVerify } from "jose";

/** Storage's JWT settings as a hosted project sets them. */
export interface StorageConfig {
  /** The legacy JWT secret (always configured). */
  readonly jwtSecret: string;
  /** The project's JWK set, once it uses signing keys (or third-party auth). */
  readonly jwks: { readonly keys: readonly JWK[] } | null;
  /** `jwtAlgorithm`; HS256 by default. */
  readonly jwtAlgorithm?: string;
}

export type StorageVerdict =
  | { readonly ok: true; readonly role: unknown; readonly claims: JWTPayload }
  | { readonly ok: false; readonly reason: string };

const HMAC = ["HS256", "HS384", "HS512"];
const RSA = ["RS256", "RS384", "RS512"];
const ECC = ["ES256", "ES384", "ES512"];
const ED = ["EdDSA"];

/** Decides as Storage does whether `token` is accepted at `now`. */
export async function storageVerify(
  token: string,
  config: StorageConfig,
  now: Date,
): Promise<StorageVerdict> {
  const algorithm = config.jwtAlgorithm ?? "HS256";
  const secret = new TextEncoder().encode(config.jwtSecret);
  const jwks = config.jwks;
  const keyFor = async (header: JWTHeaderParameters) => {
    if (!jwks) return secret;
    if (HMAC.includes(header.alg)) {
      if (!header.kid && header.alg === algorithm) return secret;
      const candidates = jwks.keys.filter((key) =>
        (!key.kid || kidsMatch(key.kid, header.kid)) && key.kty === "oct" && key.k
      );
      const jwk = candidates.find((key) => key.alg === undefined || key.alg === header.alg);
      if (!jwk && candidates.length > 0) {
        throw new Error(`JWT algorithm "${header.alg}" does not match JWK algorithm "${candidates[0]!.alg}"`);
      }
      return jwk ? Buffer.from(jwk.k!, "base64") : secret;
    }
    const kty = ECC.includes(header.alg) ? "EC" : ED.includes(header.alg) ? "OKP" : "RSA";
    const jwk = jwks.keys.find((key) =>
      ((!key.kid && !header.kid) || key.kid === header.kid) && key.kty === kty &&
      (key.alg === undefined || key.alg === header.alg)
    );
    if (!jwk) return secret;
    const { d: _d, ...publicPart } = jwk;
    return await importJWK({ ...publicPart, alg: header.alg }, header.alg);
  };
  const algorithms = [algorithm];
  if (jwks?.keys.length) {
    if (jwks.keys.some((key) => key.kty === "RSA")) algorithms.push(...RSA);
    if (jwks.keys.some((key) => key.kty === "EC")) algorithms.push(...ECC);
    if (jwks.keys.some((key) => key.kty === "OKP")) algorithms.push(...ED);
    if (jwks.keys.some((key) => key.kty === "oct" && key.k)) algorithms.push(...HMAC);
  }
  try {
    const { payload } = await jwtVerify(token, keyFor, { algorithms, currentDate: now });
    return { ok: true, role: payload.role, claims: payload };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

const LEGACY_URL_SIGNING_PREFIX = "storage-url-signing-key_";

/** `kidsMatch`: equal, or equal once the legacy url-signing prefix is stripped from either. */
function kidsMatch(keyKid: string | undefined, headerKid: string | undefined): boolean {
  if (keyKid === undefined || headerKid === undefined) return false;
  const bare = (kid: string) =>
    kid.startsWith(LEGACY_URL_SIGNING_PREFIX) ? kid.slice(LEGACY_URL_SIGNING_PREFIX.length) : kid;
  return keyKid === headerKid || bare(keyKid) === bare(headerKid);
}
