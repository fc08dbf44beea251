/**
 * base64url without padding (RFC 4648 §5), the encoding of every MAC, hash and
 * nonce sessionguard writes itself: refresh-token MACs and key ids, DPoP `ath`
 * values and nonces. jose's encoder, which also encodes every JWT we sign
 * (functions/signer.ts), so there is one implementation in the functions.
 */
import { base64url as jose } from "jose";

/** `bytes` as unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  return jose.encode(bytes);
}
