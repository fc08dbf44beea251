/**
 * The identifier formats the API checks, each written once: a session id (a
 * lowercase UUID, as Postgres prints `uuid`) and an RFC 7638 SHA-256 JWK
 * thumbprint (the `jkt` of a DPoP key). The SQL side checks the same formats
 * with `sessionguard.is_jwk_thumbprint` (migration `20261208000100_thumbprint_format.sql`).
 */

/** A lowercase UUID, e.g. a session id. */
export const UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** An unpadded base64url SHA-256 digest (43 characters), e.g. a JWK thumbprint or a MAC. */
export const SHA256_BASE64URL_PATTERN = "[A-Za-z0-9_-]{43}";

const UUID = new RegExp(`^${UUID_PATTERN}$`);
const THUMBPRINT = new RegExp(`^${SHA256_BASE64URL_PATTERN}$`);

/** Whether `value` is a lowercase UUID. */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** Whether `value` is an RFC 7638 SHA-256 thumbprint. */
export function isThumbprint(value: unknown): value is string {
  return typeof value === "string" && THUMBPRINT.test(value);
}
