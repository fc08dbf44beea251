/**
 * The keys access tokens are signed with (`SESSION_SIGNING_JWK`, ES256) and
 * the refresh-token MAC secrets (`SESSION_REFRESH_SECRET`).
 */
import { byteLength, ConfigError, list, required } from "./read.ts";

/** An ES256 private key in JWK form, with the `kid` it is published under. */
export interface SigningJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid: string;
}

/** Fewest bytes of an HMAC secret (HS256 JWT secret, refresh MAC secret). */
export const MIN_SECRET_BYTES = 32;

/** `SESSION_SIGNING_JWK`: one JWK or a JSON array, newest (the signer) first; none when unset. */
export function parseSigningJwks(value: string | undefined): SigningJwk[] {
  const name = "SESSION_SIGNING_JWK";
  if (value === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(name, "must be a JWK or a JSON array of JWKs");
  }
  const keys = Array.isArray(parsed) ? parsed : [parsed];
  if (keys.length === 0) throw new ConfigError(name, "must hold at least one key");
  const jwks = keys.map((key: unknown, index): SigningJwk => {
    const at = keys.length > 1 ? ` (key ${index})` : "";
    if (typeof key !== "object" || key === null) throw new ConfigError(name, `is not a JWK${at}`);
    const { kty, crv, x, y, d, kid, alg } = key as Record<string, unknown>;
    if (kty !== "EC" || crv !== "P-256" || (alg !== undefined && alg !== "ES256")) {
      throw new ConfigError(name, `must be an EC P-256 (ES256) key${at}`);
    }
    if (typeof d !== "string" || typeof x !== "string" || typeof y !== "string") {
      throw new ConfigError(name, `must be a private key with x, y and d${at}`);
    }
    if (typeof kid !== "string" || !/^[\w.-]{1,64}$/.test(kid)) {
      throw new ConfigError(name, `needs a "kid" of letters, digits, "_", "-" or "."${at}`);
    }
    return { kty, crv, x, y, d, kid };
  });
  if (new Set(jwks.map((jwk) => jwk.kid)).size !== jwks.length) {
    throw new ConfigError(name, "two keys share a kid");
  }
  return jwks;
}

/** `SESSION_REFRESH_SECRET`: one or more secrets, newest first, each long enough, none twice. */
export function parseRefreshSecrets(value: string | undefined): string[] {
  const refreshSecrets = list(required("SESSION_REFRESH_SECRET", value));
  if (refreshSecrets.some((secret) => byteLength(secret) < MIN_SECRET_BYTES)) {
    throw new ConfigError(
      "SESSION_REFRESH_SECRET",
      `every secret must be at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  if (new Set(refreshSecrets).size !== refreshSecrets.length) {
    throw new ConfigError("SESSION_REFRESH_SECRET", "lists the same secret twice");
  }
  return refreshSecrets;
}
