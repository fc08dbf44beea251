/**
 * Device binding (DPoP, RFC 9449), client side: the device key and the proof signed
 * with it for every request to the session function. The key is an ECDSA P-256 pair
 * made with WebCrypto whose private half cannot be exported; where it is kept is
 * key-store.ts's concern.
 *
 * The session function binds the session to the key at sign-in; from then on a
 * refresh token is useless without a proof from this key, so a copy of the
 * token taken off the device (a leaked backup, a log, malware reading storage)
 * cannot be refreshed elsewhere. Code running in the page can still ask the key
 * to sign while the page is open: binding keeps the key on the device, it does
 * not keep a compromised page honest.
 */
import { decodeBase64url, encodeBase64url } from "./encoding.ts";

/** A device key ready to sign proofs. */
export interface DeviceKey {
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url: what the session is bound to. */
  readonly jkt: string;
  readonly keys: CryptoKeyPair;
  /**
   * A proof for one request: `method` and `url` (query and fragment dropped) as sent,
   * `accessToken` when the request carries one (its hash goes in `ath`), the server's
   * latest `nonce`, and `now` in ms (default `Date.now()`).
   */
  proof(
    method: string,
    url: string,
    options?: { accessToken?: string; nonce?: string; now?: number },
  ): Promise<string>;
}

/** The algorithm of every device key. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const encoder = new TextEncoder();

/** A fresh P-256 key pair; the private key is non-extractable unless `extractable`. */
export async function generateDeviceKey(
  extractable = false,
): Promise<CryptoKeyPair> {
  return await subtle().generateKey(ECDSA_P256, extractable, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/** Wraps a key pair for signing; its public half is exported (public keys always are). */
export async function deviceKey(keys: CryptoKeyPair): Promise<DeviceKey> {
  const exported = await subtle().exportKey("jwk", keys.publicKey);
  if (
    exported.kty !== "EC" || exported.crv !== "P-256" || !exported.x ||
    !exported.y
  ) {
    throw new TypeError(
      "sessionguard: a DPoP key must be an ECDSA P-256 key pair",
    );
  }
  // Only the required members, in this order: RFC 7638's canonical form is also a fine header jwk.
  const jwk = { crv: "P-256", kty: "EC", x: exported.x, y: exported.y };
  const jkt = await sha256(JSON.stringify(jwk));
  const header = encodeBase64url(
    encoder.encode(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk })),
  );
  return {
    jkt,
    keys,
    async proof(method, url, options = {}) {
      const target = new URL(url);
      const claims: Record<string, unknown> = {
        jti: encodeBase64url(crypto.getRandomValues(new Uint8Array(16))),
        htm: method.toUpperCase(),
        htu: `${target.origin}${target.pathname}`,
        iat: Math.floor((options.now ?? Date.now()) / 1000),
      };
      if (options.accessToken !== undefined) {
        claims.ath = await sha256(options.accessToken);
      }
      if (options.nonce !== undefined) claims.nonce = options.nonce;
      const input = `${header}.${
        encodeBase64url(encoder.encode(JSON.stringify(claims)))
      }`;
      // WebCrypto's ECDSA signature is r || s, exactly JWS's ES256 encoding.
      const signature = await subtle().sign(
        { name: "ECDSA", hash: "SHA-256" },
        keys.privateKey,
        encoder.encode(input),
      );
      return `${input}.${encodeBase64url(new Uint8Array(signature))}`;
    },
  };
}

/** The `cnf.jkt` claim of an access token (a JWT), or null. Nothing is verified: the server did that. */
export function boundKeyOf(accessToken: string): string | null {
  try {
    const json = decodeBase64url(accessToken.split(".")[1] ?? "");
    const jkt = (JSON.parse(json) as { cnf?: { jkt?: unknown } }).cnf?.jkt;
    return typeof jkt === "string" ? jkt : null;
  } catch {
    return null;
  }
}

/** WebCrypto's SubtleCrypto; throws a clear TypeError where the runtime has none. */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new TypeError("sessionguard: DPoP needs WebCrypto (crypto.subtle)");
  }
  return s;
}

/** base64url of the SHA-256 of `text` (UTF-8): a thumbprint, or a proof's `ath`. */
async function sha256(text: string): Promise<string> {
  return encodeBase64url(
    new Uint8Array(await subtle().digest("SHA-256", encoder.encode(text))),
  );
}
