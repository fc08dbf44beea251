/**
 * The app server's own DPoP key (RFC 9449), for its calls to the session function.
 *
 * A server-held session cannot use a browser's device key: the browser never talks to
 * the session function. What the server can do is bind the family to a key of its own
 * at `/start`: from then on a refresh of that family needs a proof signed with this key,
 * so the cookie value alone (copied from a browser profile, a proxy log, a backup) cannot
 * be refreshed anywhere but through this app's servers, and a replay through them is
 * caught by reuse detection (P2). Every instance of the app must hold the same key (it
 * is configuration, like a session secret): a family bound to a key that another
 * instance lacks fails its next refresh there with `invalid_dpop_proof`.
 *
 * The proof format matches what functions/dpop.ts verifies: `typ: dpop+jwt`, ES256, the
 * public JWK in the header, `htm`, `htu` (no query), `iat`, a random `jti`, `ath` with
 * an access token, `nonce` when the function asked for one.
 */
import { deviceKey } from "@sessionguard/client";

/** A key that signs DPoP proofs. */
export interface ServerKey {
  /** RFC 7638 thumbprint of the public key: what the families are bound to. */
  readonly jkt: string;
  proof(method: string, url: string, options?: { accessToken?: string; nonce?: string }): Promise<string>;
}

const ECDSA = { name: "ECDSA", namedCurve: "P-256" } as const;

/** A new P-256 private JWK for `SESSIONGUARD_SERVER_KEY` (print it once, keep it secret). */
export async function generateServerKeyJwk(): Promise<JsonWebKey> {
  const pair = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]) as CryptoKeyPair;
  const { kty, crv, x, y, d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { kty, crv, x, y, d };
}

/**
 * Imports a P-256 private JWK (an object or its JSON); throws a TypeError naming what is
 * wrong. Proofs are signed by @sessionguard/client's signer, the one browsers use, so the
 * proof format has one definition on the client side as functions/dpop.ts is its one
 * verifier.
 */
export async function importServerKey(jwk: JsonWebKey | string): Promise<ServerKey> {
  const parsed = typeof jwk === "string" ? parseJwk(jwk) : jwk;
  if (parsed.kty !== "EC" || parsed.crv !== "P-256" || !parsed.x || !parsed.y || !parsed.d) {
    throw new TypeError("sessionguard: the server key must be a private P-256 JWK (kty EC, crv P-256, x, y, d)");
  }
  const { x, y, d } = parsed;
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x, y, d }, ECDSA, false, ["sign"]),
    crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x, y }, ECDSA, true, ["verify"]),
  ]);
  const key = await deviceKey({ privateKey, publicKey });
  return { jkt: key.jkt, proof: (method, url, options) => key.proof(method, url, options) };
}

function parseJwk(text: string): JsonWebKey {
  try {
    return JSON.parse(text) as JsonWebKey;
  } catch {
    throw new TypeError("sessionguard: the server key is not JSON (expected a private P-256 JWK)");
  }
}
