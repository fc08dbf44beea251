/**
 * HMAC-SHA-256, the one keyed MAC of the product: refresh tokens
 * (refresh-token.ts) and DPoP nonces (dpop.ts) both use it.
 *
 * By @noble/hashes (audited, pure JavaScript, constant-time SHA-256), on the
 * calling thread, from a state keyed once per secret: `crypto.subtle.sign`
 * hands every MAC to a worker thread and back, and `node:crypto`'s Hmac in Deno
 * re-pads the key and allocates buffers and a stream per call, each costing more
 * CPU than the hash itself (bench scenario 11).
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();

/** A secret's HMAC-SHA-256, keyed once: `mac(message)` answers the 32-byte MAC. */
export type KeyedMac = (message: string) => Uint8Array;

/** Keys HMAC-SHA-256 with `secret` (its UTF-8 bytes). */
export function keyedMac(secret: string): KeyedMac {
  const keyed = hmac.create(sha256, encoder.encode(secret));
  return (message) => keyed.clone().update(encoder.encode(message)).digest();
}
