/**
 * How PostgREST 13+ (Supabase's Data API) accepts a JWT, written from its source:
 *
 * - PostgREST/postgrest `src/PostgREST/Auth/Jwt.hs` (commit a409a2cb, v13/v14 line):
 *   `parseToken` (three parts, then `Jose.Jwt.decode` over every configured key),
 *   `checkForErrors` (`exp` in the past, `nbf`/`iat` in the future, each with
 *   `allowedSkewSeconds = 30`; a present claim that is not a number is an error;
 *   `aud` checked only when `jwt-aud` is set: a string must equal it, a non-empty
 *   array must contain it, null or [] pass, anything else fails), and `parseClaims`
 *   (role from `jwt-role-claim-key`, default `.role`, else `db-anon-role`).
 * - `docs/references/auth.rst` ("kid verification", "aud validation"): a token with a
 *   `kid` is checked only against keys with that `kid` (keys without one never
 *   match): none → 401 PGRST301; without a `kid` every key is tried in turn.
 * - The key filter is jose-jwt's `canDecodeJws` (tekul/jose-jwt `Jose/Jwk.hs`, the
 *   library PostgREST links): `use` is not "enc", `kid` compatible as above, the key's
 *   own `alg` (if any) equals the header's, and the key type fits the algorithm
 *   (HS* ↔ oct, ES* ↔ EC, RS* ↔ RSA, EdDSA ↔ OKP). No candidate, or no candidate
 *   whose signature verifies → `KeyError` → PGRST301; claims errors → PGRST303.
 * - `jwt-secret` as a plain string is one HMAC key without a `kid`, for HS256 only
 *   (PostgREST/postgrest `src/library/PostgREST/Config.hs`, `parseSecret`, at commit
 *   48346789: `SymmetricJwk bytes Nothing (Just Sig) (Just (Signed HS256))`); as JSON
 *   it is a JWK or a JWK set.
 * - `iss` is never read (no claim check names it), so no issuer can be refused.
 *
 * The signature arithmetic itself is done by jose (WebCrypto); everything around it
 * is PostgREST's rule.
 */
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";

/** PostgREST's JWT settings, as a hosted project sets them. */
export interface PostgrestConfig {
  /** `jwt-secret`: a plain HMAC secret, or a JWK set. */
  readonly jwtSecret: string | { readonly keys: readonly JWK[] };
  /** `jwt-aud`; unset on hosted Supabase projects. */
  readonly jwtAud?: string;
  /** `jwt-role-claim-key` as a path; default `.role`. */
  readonly roleClaimPath?: readonly string[];
  /** `db-anon-role` (`anon` on Supabase). */
  readonly anonRole?: string;
}

export type PostgrestVerdict =
  | { readonly ok: true; readonly role: string; readonly claims: Record<string, unknown> }
  | { readonly ok: false; readonly code: "PGRST301" | "PGRST302" | "PGRST303"; readonly reason: string };

const SKEW_SECONDS = 30;

/** Decides as PostgREST does whether `token` authenticates a request at `now`. */
export async function postgrestVerify(
  token: string,
  config: PostgrestConfig,
  now: Date,
): Promise<PostgrestVerdict> {
  if (token.split(".").length !== 3) return refuse("PGRST301", "UnexpectedParts");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return refuse("PGRST301", "bad header");
  }
  if (typeof header.alg !== "string" || header.alg === "none") return refuse("PGRST301", "BadAlgorithm");
  const keys = typeof config.jwtSecret === "string"
    ? [
      { kty: "oct", k: Buffer.from(config.jwtSecret).toString("base64url"), use: "sig", alg: "HS256" } as JWK,
    ]
    : config.jwtSecret.keys;
  const candidates = keys.filter((key) => canDecodeJws(header.alg!, header.kid, key));
  if (candidates.length === 0) return refuse("PGRST301", "KeyError: no suitable key (kid, alg, key type)");
  let payload: Uint8Array | undefined;
  for (const key of candidates) {
    try {
      const imported = await importJWK({ ...key, alg: header.alg }, header.alg);
      ({ payload } = await compactVerify(token, imported, { algorithms: [header.alg] }));
      break;
    } catch { /* this key does not verify it: try the next */ }
  }
  if (payload === undefined) return refuse("PGRST301", "KeyError: none of the keys verifies the signature");

  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return refuse("PGRST303", "ParsingClaimsFailed");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    return refuse("PGRST303", "ParsingClaimsFailed");
  }
  const object = claims as Record<string, unknown>;
  const problem = claimsProblem(object, config.jwtAud, Math.floor(now.getTime() / 1000));
  if (problem) return refuse("PGRST303", problem);

  let value: unknown = object;
  for (const step of config.roleClaimPath ?? ["role"]) {
    value = typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)[step]
      : undefined;
  }
  const role = value === undefined
    ? config.anonRole
    : typeof value === "string"
    ? value
    : JSON.stringify(value);
  if (role === undefined) return refuse("PGRST302", "JwtTokenRequired: no role and no anonymous role");
  return { ok: true, role, claims: { ...object, role } };
}

/** jose-jwt `canDecodeJws`. */
function canDecodeJws(alg: string, kid: string | undefined, key: JWK): boolean {
  if (key.use === "enc") return false;
  if (kid !== undefined && key.kid !== kid) return false;
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (/^HS(256|384|512)$/.test(alg)) return key.kty === "oct";
  if (/^ES(256|384|512)$/.test(alg)) return key.kty === "EC";
  if (/^RS(256|384|512)$/.test(alg)) return key.kty === "RSA";
  if (alg === "EdDSA") return key.kty === "OKP";
  return false;
}

/** `checkForErrors`: the first failing check, in PostgREST's order. */
function claimsProblem(
  claims: Record<string, unknown>,
  jwtAud: string | undefined,
  now: number,
): string | null {
  const time = (name: string, bad: (value: number) => boolean, error: string): string | null => {
    const value = claims[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== "number") return `${name} claim is not a number`;
    return bad(Math.floor(value)) ? error : null;
  };
  return time("exp", (exp) => now - SKEW_SECONDS > exp, "JWTExpired") ??
    time("nbf", (nbf) => now + SKEW_SECONDS < nbf, "JWTNotYetValid") ??
    time("iat", (iat) => now + SKEW_SECONDS < iat, "JWTIssuedAtFuture") ??
    audienceProblem(claims.aud, jwtAud);
}

function audienceProblem(aud: unknown, jwtAud: string | undefined): string | null {
  if (aud === undefined || aud === null) return null;
  if (typeof aud === "string") return jwtAud !== undefined && aud !== jwtAud ? "JWTNotInAudience" : null;
  if (Array.isArray(aud) && aud.every((entry) => typeof entry === "string")) {
    if (aud.length === 0 || jwtAud === undefined) return null;
    return aud.includes(jwtAud) ? null : "JWTNotInAudience";
  }
  return "AudClaimNotStringOrArray";
}

function refuse(code: "PGRST301" | "PGRST302" | "PGRST303", reason: string): PostgrestVerdict {
  return { ok: false, code, reason };
}
