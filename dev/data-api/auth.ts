/**
 * LOCAL DATA API STAND-IN — not PostgREST. Who a request is, by PostgREST's rules.
 *
 * Copied from PostgREST v14.17 (PostgREST/postgrest):
 *   - the token is the `Authorization: Bearer <token>` value (case-insensitive scheme,
 *     Wai `extractBearerAuth` in src/PostgREST/Auth.hs); no bearer token: anonymous;
 *   - three dot-separated parts or PGRST301 "Expected 3 parts in JWT; got n"; an empty
 *     token is PGRST301 "Empty JWT is sent in Authorization header"
 *     (src/PostgREST/Auth/Jwt.hs `parseToken`, Error.hs `JwtDecodeError`);
 *   - `kid` verification (docs/references/auth.rst "kid verification"): a token with a
 *     `kid` is checked against the key with that `kid` only, and refused with 401 PGRST301
 *     when none has it; a token without one is tried against each key in turn;
 *   - `exp`, `nbf`, `iat` with 30 s of clock skew, each a number or PGRST303
 *     (Jwt.hs `checkForErrors`, `allowedSkewSeconds = 30`); `aud` is not checked because
 *     Supabase sets no `jwt-aud` (auth.rst "aud validation": any audience then passes);
 *   - PGRST302 ("Anonymous access is disabled") needs an unset `db-anon-role`; Supabase
 *     sets it to `anon`, so a request without a token is never refused for that here;
 *   - the role is the `role` claim, else `db-anon-role` (`anon` on Supabase), and the
 *     claims published to SQL are the token's with `role` set to it (Jwt.hs `parseClaims`).
 *
 * Keys: the stack's own access-token keys, as the project that trusts them would hold
 * them: the public half of SESSION_SIGNING_JWK (ES256, with its kid) and/or the
 * HS256 SESSION_JWT_SECRET (no kid, like Supabase's legacy secret).
 */
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { PostgrestError } from "./errors.ts";

/** PostgREST's `db-anon-role` as Supabase configures it. */
export const ANON_ROLE = "anon";
const ALLOWED_SKEW_SECONDS = 30;

export interface VerificationKey {
  readonly kid: string | null;
  readonly alg: "ES256" | "HS256" | "RS256";
  readonly key: CryptoKey | Uint8Array;
}

/** Who the request runs as. */
export interface AuthResult {
  readonly role: string;
  readonly claims: Record<string, unknown>;
  /** A JWT was presented (42501 is then 403 rather than 401). */
  readonly authenticated: boolean;
}

/** The verification keys from the stack's own signing settings. */
export async function verificationKeys(
  settings: { signingJwk?: string; jwtSecret?: string },
): Promise<VerificationKey[]> {
  const keys: VerificationKey[] = [];
  if (settings.signingJwk) {
    const { kty, crv, x, y, kid } = JSON.parse(settings.signingJwk) as JWK;
    const publicKey = await importJWK({ kty, crv, x, y }, "ES256");
    keys.push({ kid: kid ?? null, alg: "ES256", key: publicKey as CryptoKey });
  }
  for (const secret of settings.jwtSecret ? [settings.jwtSecret] : []) {
    keys.push({ kid: null, alg: "HS256", key: new TextEncoder().encode(secret) });
  }
  return keys;
}

function jwtError(
  code: "PGRST301" | "PGRST303",
  message: string,
  details: string | null = null,
): PostgrestError {
  const description = JSON.stringify(message);
  return new PostgrestError(401, code, message, details, null, {
    "www-authenticate": `Bearer error="invalid_token", error_description=${description}`,
  });
}

/** The bearer token of an Authorization header, or null (anonymous). */
export function bearerToken(authorization: string | null): string | null {
  if (authorization === null) return null;
  const match = /^(\S+)(?:\s(.*))?$/s.exec(authorization);
  if (!match || match[1]!.toLowerCase() !== "bearer") return null;
  return (match[2] ?? "").trim();
}

/** Verifies the request's token; throws the PostgrestError PostgREST would answer. */
export async function authenticate(
  authorization: string | null,
  keys: readonly VerificationKey[],
  now: Date = new Date(),
): Promise<AuthResult> {
  const token = bearerToken(authorization);
  if (token === null) return { role: ANON_ROLE, claims: { role: ANON_ROLE }, authenticated: false };
  if (token === "") throw jwtError("PGRST301", "Empty JWT is sent in Authorization header");
  const parts = token.split(".").length;
  if (parts !== 3) throw jwtError("PGRST301", `Expected 3 parts in JWT; got ${parts}`);

  let header: { kid?: unknown; alg?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw jwtError("PGRST301", "JWT cryptographic operation failed");
  }
  const candidates = typeof header.kid === "string" ? keys.filter((key) => key.kid === header.kid) : keys;
  if (candidates.length === 0) {
    throw jwtError(
      "PGRST301",
      "No suitable key or wrong key type",
      `no key has the kid ${String(header.kid)}`,
    );
  }
  if (!candidates.some((key) => key.alg === header.alg)) {
    throw jwtError("PGRST301", "Wrong or unsupported encoding algorithm", `alg ${String(header.alg)}`);
  }
  let payload: Uint8Array | null = null;
  for (const candidate of candidates.filter((key) => key.alg === header.alg)) {
    try {
      payload = (await compactVerify(token, candidate.key, { algorithms: [candidate.alg] })).payload;
      break;
    } catch {
      // the next key without a kid may be the one (auth.rst: "one by one until it finds one that works")
    }
  }
  if (payload === null) throw jwtError("PGRST301", "JWT cryptographic operation failed");

  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
      throw new Error("not an object");
    }
  } catch {
    throw jwtError("PGRST303", "Parsing claims failed");
  }
  checkTimes(claims, Math.floor(now.getTime() / 1000));
  const roleClaim = claims.role;
  const role = roleClaim === undefined
    ? ANON_ROLE
    : typeof roleClaim === "string"
    ? roleClaim
    : JSON.stringify(roleClaim); // Jwt.hs `unquoted`: a non-string role is its JSON text
  return { role, claims: { ...claims, role }, authenticated: true };
}

/** Jwt.hs `checkForErrors`: exp, nbf, iat in that order, 30 s of skew either way. */
function checkTimes(claims: Record<string, unknown>, now: number): void {
  const rules: Array<[string, string, string, (value: number) => boolean]> = [
    ["exp", "The JWT 'exp' claim must be a number", "JWT expired", (v) => now - ALLOWED_SKEW_SECONDS > v],
    [
      "nbf",
      "The JWT 'nbf' claim must be a number",
      "JWT not yet valid",
      (v) => now + ALLOWED_SKEW_SECONDS < v,
    ],
    [
      "iat",
      "The JWT 'iat' claim must be a number",
      "JWT issued at future",
      (v) => now + ALLOWED_SKEW_SECONDS < v,
    ],
  ];
  for (const [name, notNumber, failed, invalid] of rules) {
    const value = claims[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number") throw jwtError("PGRST303", notNumber);
    if (invalid(Math.trunc(value))) throw jwtError("PGRST303", failed);
  }
  const aud = claims.aud;
  if (
    aud !== undefined && typeof aud !== "string" &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))
  ) {
    throw jwtError("PGRST303", "The JWT 'aud' claim must be a string or an array of strings");
  }
}
