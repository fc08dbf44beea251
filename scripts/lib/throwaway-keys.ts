/**
 * Throwaway secrets and keys for a local server (tests, bench, soak), generated at run
 * time (never committed; `npm start` keeps its own in scripts/stack/keys.ts).
 */
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";

/** A refresh MAC secret of 32 random bytes. */
export function refreshSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** An ES256 private JWK with a kid, as SESSION_SIGNING_JWK holds it. */
export async function signingJwk(
  kid = `k${randomBytes(4).toString("hex")}`,
): Promise<Record<string, string>> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { kty: "EC", crv: "P-256", x: jwk.x!, y: jwk.y!, d: jwk.d!, kid };
}
