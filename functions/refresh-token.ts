/**
 * Refresh tokens: `<kid>.<family id>.<generation>.<mac>`, where
 * `mac = base64url(HMAC-SHA-256(secret[kid], "<family id>.<generation>"))`.
 *
 * The database stores only the family's current generation, never a token
 * (P5): a token is re-derived from the secret, which lives in function
 * secrets. That is also what lets a grace retry get the identical successor
 * again (P3) and what makes forgeries harmless (P4): a token whose MAC does not
 * verify is refused here, before it can name a family to the database.
 *
 * `kid` is a short hash of the secret, so adding a newer secret in front of the
 * list changes nothing for tokens minted with an older one.
 */

/** What a verified refresh token names. */
export interface RefreshTokenClaims {
  readonly family: string;
  readonly generation: number;
}

/** Mints and verifies refresh tokens with the configured secrets. */
export interface RefreshTokens {
  /** Mints the token for `generation` of `family` with the newest secret. */
  mint(family: string, generation: number): Promise<string>;
  /** The family and generation a token names, or null for anything this server did not issue. */
  verify(token: string): Promise<RefreshTokenClaims | null>;
}

/** Longest string worth parsing; real tokens are 8 + 36 + ≤16 + 43 + 3 characters. */
export const MAX_REFRESH_TOKEN_LENGTH = 128;

const TOKEN_PATTERN =
  /^([A-Za-z0-9_-]{8})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

/**
 * Splits a token into its parts without checking the MAC; null when it is not
 * exactly in the canonical shape (no padding, lowercase uuid, no leading zeros).
 */
export function parseRefreshToken(
  token: string,
): { kid: string; family: string; generation: number; mac: string } | null {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const generation = Number(match[3]);
  if (!Number.isSafeInteger(generation)) return null;
  return { kid: match[1], family: match[2], generation, mac: match[4] };
}

/** Builds the minter and verifier; `secrets` are newest first and non-empty. */
export async function createRefreshTokens(secrets: readonly string[]): Promise<RefreshTokens> {
  if (secrets.length === 0) throw new Error("createRefreshTokens: no secret");
  const keys = new Map<string, CryptoKey>();
  for (const secret of secrets) {
    const kid = await keyId(secret);
    if (keys.has(kid)) throw new Error("createRefreshTokens: two secrets share a key id");
    keys.set(kid, await importHmacKey(secret));
  }
  const [newestKid] = keys.keys();

  const macOf = async (key: CryptoKey, family: string, generation: number): Promise<string> => {
    const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`${family}.${generation}`));
    return base64url(new Uint8Array(signature));
  };

  return {
    async mint(family, generation) {
      if (!Number.isSafeInteger(generation) || generation < 0) throw new Error("mint: bad generation");
      const mac = await macOf(keys.get(newestKid)!, family, generation);
      const token = `${newestKid}.${family}.${generation}.${mac}`;
      if (parseRefreshToken(token) === null) throw new Error("mint: bad family id");
      return token;
    },
    async verify(token) {
      const parts = parseRefreshToken(token);
      if (parts === null) return null;
      const key = keys.get(parts.kid);
      if (key === undefined) return null;
      const expected = await macOf(key, parts.family, parts.generation);
      // Compared as canonical strings so that no second encoding of the same MAC verifies.
      if (!timingSafeEqual(expected, parts.mac)) return null;
      return { family: parts.family, generation: parts.generation };
    },
  };
}

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) return false; // lengths are public: a MAC is always 43 characters
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= left[i] ^ right[i];
  return difference === 0;
}

async function keyId(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    encoder.encode(`sessionguard refresh key id\0${secret}`),
  );
  return base64url(new Uint8Array(digest)).slice(0, 8);
}

function importHmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
