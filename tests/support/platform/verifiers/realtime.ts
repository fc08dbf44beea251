/**
 * How Supabase Realtime accepts a JWT, written from its source: supabase/realtime
 * `lib/realtime_web/channels/auth/jwt_verification.ex` at v2.129.8 (commit 833cf36c),
 * `verify/3`, `generate_signer/3` and `JwtAuthToken.token_config/0`.
 *
 * - Claims and header must decode to maps. No `typ` is required: Realtime dropped
 *   that match in v2.41.16 (commit 8e6e580a, "avoid matching on typ as it's optional").
 * - RS*, ES* and EdDSA (also spelled Ed25519, Ed448) need a `kid` and a key of that type
 *   with exactly that `kid` in the JWK set; otherwise `:error_generating_signer`.
 * - HS* with a `kid` and a JWK set: the `oct` key with that `kid`, else the JWT secret
 *   (the source notes that most Supabase Auth HS256 tokens carry a `kid`); HS* without
 *   a `kid`, or without a JWK set: the JWT secret (the raw string).
 * - Then Joken verifies the signature and validates: `exp` must be greater than the
 *   current time (no skew), `iat` a number, and each configured
 *   `jwt_claim_validators` claim must equal its value (none configured by default).
 *
 * Realtime then uses the `role` claim for RLS on Postgres Changes and Broadcast.
 */
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK, type JWK, type JWTPayload } from "jose";

/** Realtime's tenant JWT settings as a hosted project sets them. */
export interface RealtimeConfig {
  readonly jwtSecret: string;
  readonly jwtJwks: { readonly keys: readonly JWK[] } | null;
  readonly claimValidators?: Readonly<Record<string, unknown>>;
}

export type RealtimeVerdict =
  | { readonly ok: true; readonly claims: JWTPayload }
  | { readonly ok: false; readonly reason: string };

const HS = ["HS256", "HS384", "HS512"];
const KTY: Record<string, string> = {
  RS256: "RSA",
  RS384: "RSA",
  RS512: "RSA",
  ES256: "EC",
  ES384: "EC",
  ES512: "EC",
  Ed25519: "OKP",
  Ed448: "OKP",
  EdDSA: "OKP",
};

/** Decides as Realtime does whether `token` is accepted at `now`. */
export async function realtimeVerify(
  token: string,
  config: RealtimeConfig,
  now: Date,
): Promise<RealtimeVerdict> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    decodeJwt(token);
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "expected_claims_map / expected_header_map" };
  }
  if (typeof header.alg !== "string") return { ok: false, reason: "error_generating_signer" };
  const alg = header.alg;
  const kid = typeof header.kid === "string" ? header.kid : undefined;
  let key: Uint8Array | CryptoKey;
  if (HS.includes(alg)) {
    const jwk = kid !== undefined
      ? config.jwtJwks?.keys.find((k) => k.kty === "oct" && k.kid === kid)
      : undefined;
    key = jwk ? Buffer.from(jwk.k!, "base64url") : new TextEncoder().encode(config.jwtSecret);
  } else if (KTY[alg] && kid !== undefined && config.jwtJwks) {
    const jwk = config.jwtJwks.keys.find((k) => k.kty === KTY[alg] && k.kid === kid);
    if (!jwk) return { ok: false, reason: "error_generating_signer" };
    const { d: _d, ...publicPart } = jwk;
    key = await importJWK({ ...publicPart, alg }, alg) as CryptoKey;
  } else {
    return { ok: false, reason: "error_generating_signer" };
  }
  let claims: JWTPayload;
  try {
    // Signature only: Joken's own claim rules follow.
    const { payload } = await compactVerify(token, key, { algorithms: [alg] });
    claims = JSON.parse(new TextDecoder().decode(payload)) as JWTPayload;
  } catch (error) {
    return { ok: false, reason: `signature_error: ${(error as Error).message}` };
  }
  if (typeof claims.exp !== "number" || !(claims.exp > Math.floor(now.getTime() / 1000))) {
    return { ok: false, reason: "exp" };
  }
  if (claims.iat !== undefined && typeof claims.iat !== "number") return { ok: false, reason: "iat" };
  for (const [name, expected] of Object.entries(config.claimValidators ?? {})) {
    if (claims[name] !== expected) return { ok: false, reason: name };
  }
  return { ok: true, claims };
}
