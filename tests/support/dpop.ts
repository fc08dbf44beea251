/**
 * DPoP proofs for tests, made independently of the SDK (jose in Node), with
 * knobs for every way a proof can be wrong.
 */
import { createHash, randomBytes } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/** A device key: the private half signs, the public JWK goes in the proof header. */
export interface DeviceKey {
  readonly alg: "ES256" | "EdDSA" | "RS256" | "PS256";
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint. */
  readonly jkt: string;
}

export async function deviceKey(alg: DeviceKey["alg"] = "ES256"): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

export interface ProofOptions {
  htm?: string;
  /** Default: `url` as given to {@link proof}. */
  htu?: string;
  /** Seconds; default now. */
  iat?: number;
  jti?: string;
  /** The access token whose hash goes in `ath`. */
  accessToken?: string;
  nonce?: string;
  /** Replaces claims (undefined removes one). */
  claims?: Record<string, unknown>;
  /** Replaces header members (undefined removes one). */
  header?: Record<string, unknown>;
  /** Signs with this key instead of the one whose public half is in the header. */
  signWith?: CryptoKey;
}

/** A proof for `method url` signed by `key`. */
export async function proof(
  key: DeviceKey,
  method: string,
  url: string,
  options: ProofOptions = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomBytes(16).toString("base64url"),
    htm: options.htm ?? method,
    htu: options.htu ?? url,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  if (options.accessToken !== undefined) claims.ath = sha256(options.accessToken);
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  Object.assign(claims, options.claims);
  const header: Record<string, unknown> = { typ: "dpop+jwt", alg: key.alg, jwk: key.publicJwk };
  Object.assign(header, options.header);
  for (const object of [claims, header]) {
    for (const [name, value] of Object.entries(object)) if (value === undefined) delete object[name];
  }
  return await new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(options.signWith ?? key.privateKey);
}

/** An unsigned proof (`alg: none`) carrying `key`'s public JWK. */
export function unsignedProof(key: DeviceKey, method: string, url: string): string {
  const header = { typ: "dpop+jwt", alg: "none", jwk: key.publicJwk };
  const claims = {
    jti: randomBytes(16).toString("base64url"),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
  };
  return `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}.`;
}

/** An HS256 proof: the "key" in the header is a symmetric one the attacker chose. */
export async function hmacProof(method: string, url: string): Promise<string> {
  const secret = randomBytes(32);
  const jwk = { kty: "oct", k: secret.toString("base64url") };
  return await new SignJWT({
    jti: randomBytes(16).toString("base64url"),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
  })
    .setProtectedHeader({ typ: "dpop+jwt", alg: "HS256", jwk } as { alg: string })
    .sign(new Uint8Array(secret));
}

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

function b64(value: string): string {
  return Buffer.from(value).toString("base64url");
}
