/**
 * Access tokens: short-lived JWTs that Supabase's Data API accepts, so RLS runs
 * as `authenticated` with `sub` = the Clerk user id and `sid` = the session.
 *
 * ES256 from `SESSION_SIGNING_JWK` (public keys published in the JWKS that
 * Supabase's custom OIDC provider reads), or HS256 from the project's legacy
 * `SESSION_JWT_SECRET`. Every configured key verifies and the newest signs, so
 * keys can rotate without signing anyone out.
 *
 * Header `kid`: ES256 tokens name their key in the JWKS. HS256 tokens carry no
 * `kid` unless `SESSION_JWT_KID` names the id Supabase shows for the legacy secret:
 * PostgREST 13+ refuses a token whose `kid` matches no configured key (401
 * PGRST301), and a legacy secret configured without a `kid` matches only tokens
 * that have none (PostgREST `docs/references/auth.rst`, "JWT kid").
 *
 * Claims that policies written for Supabase Auth read are carried too, as
 * Supabase Auth writes them (supabase/auth `internal/tokens/service.go`,
 * `AccessTokenClaims`, at commit 058836f4): `session_id` (the same id as `sid`),
 * `is_anonymous` (false: a Clerk user signed in) and `aal`. `aal` is always
 * "aal1": a token cannot prove that a second factor is still fresh, and claiming
 * "aal2" would open a policy that asks for it; Clerk's factor ages are read from
 * the session instead. `amr` is left out: Auth fills it with its own method
 * names, which a Clerk sign-in has no honest equivalent for.
 */
import { importJWK, type JWK, SignJWT } from "jose";
import type { Config } from "./config.ts";
import { createEs256Signer, fullLengthJwk, type JwsSigner } from "./signer.ts";
import { verifyAccessToken } from "./verify-access-token.ts";

/** The claims sessionguard puts in every access token. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: "authenticated";
  readonly role: "authenticated";
  /**
   * The session's id. `sid` (OpenID Connect's session id claim) because verifiers and the
   * RLS helper `sessionguard.session_id()` read it under that name: it is wire format.
   */
  readonly sid: string;
  /** `sid` again, under the name Supabase Auth's tokens use (`auth.jwt() ->> 'session_id'`). */
  readonly session_id: string;
  /** Always false: the user signed in with Clerk (Supabase Auth's `is_anonymous`). */
  readonly is_anonymous: false;
  /** Always "aal1" (see the header). */
  readonly aal: "aal1";
  readonly iat: number;
  readonly exp: number;
  /** Present when the session is bound to a device key (DPoP): that key's RFC 7638 thumbprint. */
  readonly cnf?: { readonly jkt: string };
  /**
   * The session's active Clerk organization when it was signed (P15), under the names of
   * Clerk's v1 claims so a policy reads `auth.jwt() ->> 'org_id'`. What a policy must
   * trust is the live value: `sessionguard.org_id()` and friends read the session row.
   */
  readonly org_id?: string;
  readonly org_role?: string;
  readonly org_permissions?: readonly string[];
  /** Impersonation (Clerk's `act`): `act.sub` is the impersonator, so policies can restrict them. */
  readonly act?: { readonly sub: string };
}

/** The Clerk claims an access token carries (see {@link AccessTokenClaims}). */
export interface SessionClaimsInput {
  readonly org?: { readonly id: string; readonly role: string | null; readonly permissions: readonly string[] } | null;
  readonly actorId?: string | null;
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
    input: {
      userId: string;
      sessionId: string;
      now: Date;
      notAfter?: Date;
      jkt?: string | null;
      claims?: SessionClaimsInput;
    },
  ): Promise<SignedAccessToken>;
  /** Verifies signature, issuer, audience and lifetime; throws `invalid_token`. */
  verify(token: string, now: Date): Promise<AccessTokenClaims>;
  /** The public key set (empty for HS256). */
  readonly jwks: { readonly keys: readonly JWK[] };
  /** The discovery document at `/.well-known/openid-configuration`. */
  readonly openidConfiguration: Readonly<Record<string, unknown>>;
}

interface Key {
  /** Null: an HS256 secret without a key id (header has no `kid`). */
  readonly kid: string | null;
  readonly alg: "ES256" | "HS256";
  readonly verifyKey: CryptoKey | Uint8Array;
}

/** Imports the configured keys; throws when a key cannot be imported. */
export async function createAccessTokens(config: Config): Promise<AccessTokens> {
  const { issuer, accessTtl } = config.session;
  const keys: Key[] = [];
  const publicJwks: JWK[] = [];
  let signer: { kid: string | null; alg: "ES256" | "HS256"; key: JwsSigner | Uint8Array } | undefined;

  for (const jwk of config.signingJwks) {
    // Full-length coordinates: a CLI-made key may have a 31-byte one (functions/signer.ts).
    const { d: _private, ...publicPart } = fullLengthJwk(jwk);
    const verifyKey = await importJWK({ ...publicPart, alg: "ES256" }, "ES256") as CryptoKey;
    keys.push({ kid: jwk.kid, alg: "ES256", verifyKey });
    publicJwks.push({ ...publicPart, alg: "ES256", use: "sig" });
    // Imported once here; the implementation is SESSION_SIGNER's (functions/signer.ts).
    signer ??= { kid: jwk.kid, alg: "ES256", key: await createEs256Signer(jwk, config.signer) };
  }
  if (config.jwtSecret !== null) {
    const secret = new TextEncoder().encode(config.jwtSecret);
    const kid = config.jwtKid;
    keys.push({ kid, alg: "HS256", verifyKey: secret });
    signer ??= { kid, alg: "HS256", key: secret };
  }
  if (signer === undefined) throw new Error("createAccessTokens: no signing key configured");
  const signWith = signer;
  const algorithms = [...new Set(keys.map((key) => key.alg))];
  // The protected header is the same for every token: one frozen object, whose encoding
  // the signer keeps (functions/signer.ts).
  const header = Object.freeze({
    alg: signWith.alg,
    ...(signWith.kid === null ? {} : { kid: signWith.kid }),
    typ: "JWT",
  });

  return {
    async sign({ userId, sessionId, now, notAfter, jkt, claims: session }) {
      const iat = Math.floor(now.getTime() / 1000);
      const end = notAfter ? Math.floor(notAfter.getTime() / 1000) : Infinity;
      const exp = Math.max(iat + 1, Math.min(iat + accessTtl, end));
      const claims: AccessTokenClaims = {
        iss: issuer,
        sub: userId,
        aud: "authenticated",
        role: "authenticated",
        sid: sessionId,
        session_id: sessionId,
        is_anonymous: false,
        aal: "aal1",
        iat,
        exp,
        ...(jkt ? { cnf: { jkt } } : {}),
        ...clerkClaims(session),
      };
      const token = signWith.key instanceof Uint8Array
        ? await new SignJWT({ ...claims }).setProtectedHeader({ ...header }).sign(signWith.key)
        : await signWith.key.sign(header, claims);
      return { token, claims };
    },

    async verify(token, now) {
      const verified = await verifyAccessToken(token, (header) => {
        // No `kid`: only the HS256 secret (tokens from before SESSION_JWT_KID was set too).
        const key = keys.find((k) =>
          k.alg === header.alg && (header.kid === undefined ? k.alg === "HS256" : k.kid === header.kid)
        );
        if (!key) throw new Error(`unknown kid ${JSON.stringify(header.kid)}`);
        return key.verifyKey;
      }, { issuer, algorithms, now });
      return {
        iss: issuer,
        sub: verified.sub,
        aud: "authenticated",
        role: "authenticated",
        sid: verified.sid,
        session_id: verified.sid,
        is_anonymous: false,
        aal: "aal1",
        iat: verified.iat,
        exp: verified.exp,
        ...(verified.jkt !== null && { cnf: { jkt: verified.jkt } }),
      };
    },

    jwks: Object.freeze({ keys: Object.freeze(publicJwks) }),

    openidConfiguration: Object.freeze({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: algorithms,
      claims_supported: [
        "iss",
        "sub",
        "aud",
        "role",
        "sid",
        "session_id",
        "is_anonymous",
        "aal",
        "iat",
        "exp",
        "cnf",
        "org_id",
        "org_role",
        "org_permissions",
        "act",
      ],
    }),
  };
}

/** The organization and impersonator claims of a session, omitted when it has none. */
function clerkClaims(session: SessionClaimsInput | undefined): Partial<AccessTokenClaims> {
  const org = session?.org;
  return {
    ...(org
      ? {
        org_id: org.id,
        ...(org.role === null ? {} : { org_role: org.role }),
        org_permissions: [...org.permissions],
      }
      : {}),
    ...(session?.actorId ? { act: { sub: session.actorId } } : {}),
  };
}
