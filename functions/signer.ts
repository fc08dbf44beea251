/**
 * The ES256 signer of access tokens: one interface, two implementations.
 *
 *  - `webcrypto`: `crypto.subtle.sign` (ECDSA P-256, SHA-256). Fast where the
 *    runtime's P-256 is native and optimised (Node's OpenSSL); in Deno 2.9 it is
 *    pure Rust and costs about 450-850 µs per signature.
 *  - `noble`: `@noble/curves` (audited, pure JavaScript) with RFC 6979
 *    deterministic nonces and a precomputed base-point table; about 210-280 µs
 *    per signature in Deno 2.9 (bench scenario 8 measures both in every run).
 *
 * `SESSION_SIGNER=auto` (the default) picks `noble` in Deno and `webcrypto`
 * elsewhere; the bench decides when that rule changes (Deno's ECDSA through
 * aws-lc, once released, would make WebCrypto the faster again).
 *
 * Both produce the JWS encoding RFC 7518 §3.4 prescribes: the raw 64-byte
 * `r || s` (not DER). noble normalises to low-S (s ≤ n/2); JOSE does not
 * require it and every verifier (WebCrypto, jose, PostgREST's jose-jwt) accepts
 * either half. Keys are imported once, by {@link createEs256Signer}, at start-up.
 *
 * Coordinates shorter than 32 bytes are left-padded ({@link fullLengthJwk}):
 * `supabase gen signing-key` encodes x, y and d with Go's `big.Int.Bytes()`,
 * which drops leading zero bytes (supabase/cli `internal/gen/signingkeys/signingkeys.go`,
 * `generateECDSAKeyPair`, at commit 038cb984), so about 1 key in 85 has a 31-byte
 * coordinate. RFC 7518 §6.2.1.2 and §6.2.2.1 require the full length, and Deno's
 * WebCrypto refuses a short one; the padded value is the same number.
 */
import { p256 } from "@noble/curves/nist.js";
import { base64url } from "jose";

/** Which implementation signs (`SESSION_SIGNER`). */
export type SignerChoice = "auto" | "webcrypto" | "noble";

/** An ES256 private key in JWK form (the fields `SESSION_SIGNING_JWK` carries). */
export interface Es256PrivateJwk {
  readonly x: string;
  readonly y: string;
  readonly d: string;
}

/** Signs compact JWS with one imported ES256 key. */
export interface JwsSigner {
  /** The implementation actually in use (`auto` resolved). */
  readonly implementation: "webcrypto" | "noble";
  /** `base64url(header).base64url(payload).base64url(r || s)`. */
  sign(header: object, payload: object): Promise<string>;
}

/** What `auto` means in this runtime: noble in Deno (slow native P-256), WebCrypto elsewhere. */
export function resolveSigner(choice: SignerChoice): "webcrypto" | "noble" {
  if (choice !== "auto") return choice;
  return "Deno" in globalThis ? "noble" : "webcrypto";
}

const encoder = new TextEncoder();
/** Window of the base-point table: the fastest measured for P-256 signing (bench scenario 8). */
const BASE_WINDOW = 8;
let baseTablePrepared = false;

/**
 * Imports `jwk` once for `choice` and returns its signer. Throws when the key
 * is malformed or when `d` does not belong to `x`, `y` (a mismatched JWK would
 * sign tokens that the published key cannot verify).
 */
export async function createEs256Signer(jwk: Es256PrivateJwk, choice: SignerChoice): Promise<JwsSigner> {
  const implementation = resolveSigner(choice);
  // A caller passes the same header object with every token: its encoding is kept, by identity.
  const encodedHeaders = new WeakMap<object, string>();
  const encode = (header: object, payload: object) => {
    let encodedHeader = encodedHeaders.get(header);
    if (encodedHeader === undefined) {
      encodedHeader = base64url.encode(JSON.stringify(header));
      if (Object.isFrozen(header)) encodedHeaders.set(header, encodedHeader);
    }
    return `${encodedHeader}.${base64url.encode(JSON.stringify(payload))}`;
  };

  const full = fullLengthJwk(jwk);
  if (implementation === "webcrypto") {
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: full.x, y: full.y, d: full.d, ext: false },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    return {
      implementation,
      async sign(header, payload) {
        const input = encode(header, payload);
        const signature = await crypto.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          key,
          encoder.encode(input),
        );
        return `${input}.${base64url.encode(new Uint8Array(signature))}`;
      },
    };
  }

  const secretKey = decodeCoordinate(jwk.d, "d");
  const expected = new Uint8Array(65);
  expected[0] = 4;
  expected.set(decodeCoordinate(jwk.x, "x"), 1);
  expected.set(decodeCoordinate(jwk.y, "y"), 33);
  if (!p256.utils.isValidSecretKey(secretKey)) throw new Error("ES256 key: d is not a valid P-256 scalar");
  if (!sameBytes(p256.getPublicKey(secretKey, false), expected)) {
    throw new Error("ES256 key: d does not match x and y");
  }
  if (!baseTablePrepared) {
    p256.Point.BASE.precompute(BASE_WINDOW, false);
    baseTablePrepared = true;
  }
  return {
    implementation,
    sign(header, payload) {
      const input = encode(header, payload);
      // prehash: SHA-256 of the signing input; deterministic k (RFC 6979); compact r || s.
      const signature = p256.sign(encoder.encode(input), secretKey, {
        prehash: true,
        lowS: true,
        format: "compact",
      });
      return Promise.resolve(`${input}.${base64url.encode(signature)}`);
    },
  };
}

/**
 * `jwk` with x, y and d (when present) at their full 32 bytes, left-padded with
 * zero bytes as RFC 7518 §6.2.1.2 prescribes; other members kept. Throws when a
 * coordinate is not base64url, is empty, or is longer than 32 bytes.
 */
export function fullLengthJwk<T extends { x: string; y: string; d?: string }>(jwk: T): T {
  const encode = (name: string, value: string) => base64url.encode(decodeCoordinate(value, name));
  return {
    ...jwk,
    x: encode("x", jwk.x),
    y: encode("y", jwk.y),
    ...(jwk.d === undefined ? {} : { d: encode("d", jwk.d) }),
  };
}

function decodeCoordinate(value: string, name: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(value);
  } catch {
    throw new Error(`ES256 key: ${name} is not base64url`);
  }
  if (bytes.length === 0 || bytes.length > 32) throw new Error(`ES256 key: ${name} must be at most 32 bytes`);
  if (bytes.length === 32) return bytes;
  // A leading zero byte dropped by the encoder (see the header): the same number.
  const padded = new Uint8Array(32);
  padded.set(bytes, 32 - bytes.length);
  return padded;
}

/** Compares public values (not secret: timing does not matter here). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
