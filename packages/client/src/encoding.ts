/**
 * base64url without padding (RFC 4648 §5), both ways: the encoding of a DPoP proof's
 * parts and of key thumbprints (dpop-proof.ts), and of the access token payload whose
 * `cnf.jkt` the client reads.
 *
 * The edge functions use jose's `base64url` (functions/base64url.ts). The SDK keeps this
 * copy because it cannot import jose: it ships with no runtime dependency (packages/client/README.md,
 * packages/client/package.json), and the devices page loads packages/client/src/*.ts into the browser one file
 * at a time without a bundler (web/server.ts), where a bare `jose` specifier does not
 * resolve.
 */

/** `bytes` as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/**
 * The text that unpadded base64url `text` encodes, one character a byte (`atob`'s
 * binary string). Throws on characters outside the alphabet.
 */
export function decodeBase64url(text: string): string {
  return atob(
    text.replaceAll("-", "+").replaceAll("_", "/") +
      "===".slice((text.length + 3) % 4),
  );
}
