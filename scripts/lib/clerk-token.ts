/**
 * Clerk-shaped session tokens: the one maker behind the local development issuer
 * (dev/dev-issuer.ts, run by the gateway in Deno) and the tests' and bench's issuer
 * (scripts/lib/clerk-issuer.ts, in Node). Web-standard (jose, `crypto.getRandomValues`),
 * so both runtimes load it.
 *
 * The claims are Clerk's v2 session token's (Clerk docs, "Session tokens": `azp`, `sid`,
 * `sts`, `v: 2`, `fva`), with `nbf = iat - 10` and a 60 s life as Clerk issues them.
 */
import { type JWK, type JWTPayload, SignJWT } from "jose";

export const TOKEN_LIFETIME_SECONDS = 60;
const NOT_BEFORE_SKEW_SECONDS = 10;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A Clerk-looking id: `user_` or `sess_` and 27 letters and digits. */
export function clerkId(prefix: "user" | "sess"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(27));
  return `${prefix}_${Array.from(bytes, (byte) => ALPHABET[byte % ALPHABET.length]).join("")}`;
}

export interface ClerkTokenOptions {
  readonly issuer: string;
  /** The authorized party (the app's origin). */
  readonly azp: string;
  /** The signing key and the `kid` its header names. */
  readonly key: Parameters<SignJWT["sign"]>[0];
  readonly kid: string;
  /** Header algorithm; RS256 as Clerk signs. */
  readonly alg?: string;
  readonly now?: Date;
  /** Override the defaults; an undefined value removes the claim. `sub` and `sid` default to fresh ids. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Signs one session token. */
export async function signClerkToken(options: ClerkTokenOptions): Promise<string> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const payload: JWTPayload = {
    azp: options.azp,
    exp: iat + TOKEN_LIFETIME_SECONDS,
    fva: [0, -1],
    iat,
    iss: options.issuer,
    nbf: iat - NOT_BEFORE_SKEW_SECONDS,
    sid: clerkId("sess"),
    sts: "active",
    sub: clerkId("user"),
    v: 2,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid, typ: "JWT" })
    .sign(options.key);
}

/** The JWKS publishing an RS256 key's public half (any private members dropped). */
export function publicJwks(jwk: JWK, kid: string): { keys: JWK[] } {
  const { kty, n, e } = jwk;
  return { keys: [{ kty, n, e, kid, alg: "RS256", use: "sig" }] };
}
