/**
 * A Clerk-like issuer whose key set is full of odd keys: a second key under
 * the real key's id, keys of the wrong type, use or algorithm, a symmetric
 * key, a huge modulus, garbage — next to the one real RS256 key. A second path
 * serves a key set that is not one at all. Tokens are made by hand here, so a
 * test can put anything in their header.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Private keys a fuzz test signs with, by what they are. */
export interface OddKeys {
  /** The real key, published as kid `real`. */
  readonly real: KeyObject;
  readonly realPublicPem: string;
  /** Published under the real kid too, with `use: "enc"`. */
  readonly encryption: KeyObject;
  /** Published as `rsa-labelled-hs256` with `alg: "HS256"`, and as `dup` with `use: "enc"`. */
  readonly mislabelled: KeyObject;
  /** Published as `ec-key` (kty EC). */
  readonly ec: KeyObject;
  /** Published as `none-alg` with `alg: "none"`. */
  readonly noneAlg: KeyObject;
  /** Published as `oct` (kty oct): the raw HMAC secret. */
  readonly octSecret: Buffer;
  /** Never published. */
  readonly stranger: KeyObject;
}

export interface OddIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** A URL whose "key set" is garbage. */
  readonly garbageJwksUrl: string;
  readonly keys: OddKeys;
  /** The published JWKS of the real key (as JSON), for HS/RS confusion. */
  readonly realPublicJwk: Record<string, string>;
  jwksFetches(): number;
  stop(): Promise<void>;
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64url");

function rsa(bits = 2048) {
  return generateKeyPairSync("rsa", { modulusLength: bits });
}

/** Starts the issuer on 127.0.0.1. */
export async function startOddIssuer(): Promise<OddIssuer> {
  const real = rsa();
  const encryption = rsa();
  const mislabelled = rsa();
  const noneAlg = rsa();
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const octSecret = randomBytes(32);
  const jwk = (key: KeyObject) => key.export({ format: "jwk" }) as Record<string, string>;
  const realPublicJwk = { ...jwk(real.publicKey), kid: "real", alg: "RS256", use: "sig" };

  const keys = [
    realPublicJwk,
    { ...jwk(encryption.publicKey), kid: "real", use: "enc", alg: "RSA-OAEP" },
    { ...jwk(mislabelled.publicKey), kid: "rsa-labelled-hs256", alg: "HS256", use: "sig" },
    { ...jwk(ec.publicKey), kid: "ec-key", alg: "RS256", use: "sig" },
    { kty: "oct", kid: "oct", k: b64(octSecret), alg: "HS256", use: "sig" },
    { ...jwk(noneAlg.publicKey), kid: "none-alg", alg: "none" },
    { kty: "RSA", kid: "huge", alg: "RS256", use: "sig", n: b64(randomBytes(2048)), e: "AQAB" },
    { kty: "RSA", kid: "garbage", alg: "RS256", n: "!!!not base64!!!", e: "%%" },
    { kid: "no-kty", n: jwk(real.publicKey).n, e: "AQAB" },
    { kty: "RSA", kid: "../../etc/passwd", alg: "RS256", n: "AQAB", e: "AQAB" },
    { ...jwk(mislabelled.publicKey), kid: "dup", use: "enc" },
    { kty: "RSA", kid: "dup", alg: "RS256", n: "AQAB", e: "AQAB" },
    { kty: "XYZ", kid: "unknown-kty" },
  ];
  const body = JSON.stringify({ keys });
  let fetches = 0;

  const server = http.createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    } else if (req.url === "/garbage/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end("[".repeat(100_000));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    garbageJwksUrl: `${issuer}/garbage/jwks.json`,
    keys: {
      real: real.privateKey,
      realPublicPem: real.publicKey.export({ format: "pem", type: "spki" }).toString(),
      encryption: encryption.privateKey,
      mislabelled: mislabelled.privateKey,
      ec: ec.privateKey,
      noneAlg: noneAlg.privateKey,
      octSecret,
      stranger: rsa().privateKey,
    },
    realPublicJwk,
    jwksFetches: () => fetches,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** How to sign a hand-made token. */
export type Signer =
  | { readonly alg: "RS256" | "RS512" | "PS256"; readonly key: KeyObject }
  | { readonly alg: "ES256"; readonly key: KeyObject }
  | { readonly alg: "HS256"; readonly secret: Buffer | string }
  | { readonly alg: "none" | "None" | "NONE" | "nOnE" };

/** A compact JWS with exactly this header and payload, signed as `signer` says. */
export function handmadeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer: Signer,
): string {
  const input = `${b64(JSON.stringify({ ...header, alg: signer.alg }))}.${b64(JSON.stringify(payload))}`;
  let signature = "";
  switch (signer.alg) {
    case "RS256":
    case "RS512":
      signature = b64(
        createSign(signer.alg === "RS256" ? "sha256" : "sha512").update(input).sign(signer.key),
      );
      break;
    case "PS256":
      signature = b64(
        createSign("sha256").update(input).sign({ key: signer.key, padding: 6, saltLength: 32 }),
      );
      break;
    case "ES256":
      signature = b64(
        createSign("sha256").update(input).sign({ key: signer.key, dsaEncoding: "ieee-p1363" }),
      );
      break;
    case "HS256":
      signature = b64(createHmac("sha256", signer.secret).update(input).digest());
      break;
  }
  return `${input}.${signature}`;
}

/** Claims of a Clerk v2 session token for `issuer`, valid now. */
export function clerkClaims(issuer: string, azp: string, overrides: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    azp,
    exp: iat + 60,
    fva: [0, -1],
    iat,
    iss: issuer,
    nbf: iat - 10,
    sid: `sess_${randomBytes(12).toString("hex")}`,
    sts: "active",
    sub: `user_${randomBytes(12).toString("hex")}`,
    v: 2,
    ...overrides,
  };
}
