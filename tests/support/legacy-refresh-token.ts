/**
 * The refresh-token format sessionguard minted before the issuer was bound into the MAC,
 * written out here from its documented form (functions/refresh-token.ts header, version 1)
 * with node:crypto, so that tests can hold tokens a deployment handed out before the
 * change: `<kid>.<family>.<generation>.<mac>` with an 8-character `kid` =
 * base64url(SHA-256("sessionguard refresh key id\0" + secret))[0..8] and
 * `mac = base64url(HMAC-SHA-256(secret, "<family>.<generation>"))`.
 */
import { createHash, createHmac } from "node:crypto";

/** A version-1 (legacy, issuer-free) refresh token. */
export function legacyRefreshToken(secret: string, family: string, generation: number): string {
  const kid = createHash("sha256").update(`sessionguard refresh key id\0${secret}`).digest("base64url").slice(
    0,
    8,
  );
  const mac = createHmac("sha256", secret).update(`${family}.${generation}`).digest("base64url");
  return `${kid}.${family}.${generation}.${mac}`;
}
