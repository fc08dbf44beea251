/**
 * Comparing secrets in constant time: a refresh token's MAC, a DPoP nonce's MAC
 * and a proof's `ath` are compared here, never with `===`, so the time an answer
 * takes says nothing about how much of a guess was right.
 */

const encoder = new TextEncoder();

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) return false; // lengths are public: a MAC is always 43 characters
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= left[i] ^ right[i];
  return difference === 0;
}
