/**
 * base64url without padding (RFC 4648 §5), the encoding of every MAC, hash and
 * nonce sessionguard writes itself: refresh-token MACs and key ids, DPoP `ath`
 * values and nonces. The one copy (jose keeps its own for JWTs).
 */

/** `bytes` as unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
