/**
 * Refresh tokens: `<kid>.<family id>.<generation>.<mac>`, in two versions told apart
 * by the length of `kid`:
 *
 * - **Version 2** (minted now): `kid` has 12 characters,
 *   `kid = base64url(SHA-256("sessionguard refresh key id v2\0" ‖ issuer ‖ "\0" ‖ secret))[0..12]`,
 *   `mac = base64url(HMAC-SHA-256(secret, "sessionguard refresh v2\0" ‖ issuer ‖ "\0" ‖ "<family id>.<generation>"))`.
 *   The issuer is `SESSION_ISSUER`, the deployment's name: a staging database cloned
 *   from production and run with the same secret refuses production's tokens (their
 *   key id is unknown there, and their MAC would not verify), and nothing of them reaches
 *   its database. The issuer cannot contain NUL (it is a parsed URL) and family and
 *   generation have fixed shapes, so the MAC input is unambiguous.
 * - **Version 1** (legacy, minted before the issuer was bound): `kid` has 8 characters,
 *   `kid = base64url(SHA-256("sessionguard refresh key id\0" ‖ secret))[0..8]`,
 *   `mac = base64url(HMAC-SHA-256(secret, "<family id>.<generation>"))`.
 *   Still verified, under every listed secret, so that sessions survive the upgrade and
 *   any later secret rotation; the refresh that spends one mints its successor in
 *   version 2, so a session leaves version 1 on its first refresh. A version-1 token is
 *   not bound to a deployment: until it rotates, a clone with the same secret accepts it.
 *   No version-1 token outlives the idle timeout after the upgrade unless it is refreshed,
 *   and refreshing converts it; dropping version 1 later is deleting its map entries.
 *
 * A key id names one (version, secret) pair, so a MAC of one version is never checked as
 * the other. Changing `SESSION_ISSUER` is moving to another deployment: version-2 tokens
 * of the old issuer stop verifying (their sessions must sign in again).
 *
 * The database stores only the family's current generation, never a token
 * (P5): a token is re-derived from the secret, which lives in function
 * secrets. That is also what lets a grace retry get the identical successor
 * again (P3) and what makes forgeries harmless (P4): a token whose MAC does not
 * verify is refused here, before it can name a family to the database.
 *
 * Key ids are hashes of the secret, so adding a newer secret in front of the list
 * changes nothing for tokens minted with an older one.
 */
import { base64url } from "./base64url.ts";
import { timingSafeEqual } from "./constant-time.ts";
import { SHA256_BASE64URL_PATTERN, UUID_PATTERN } from "./formats.ts";
import { type KeyedMac, keyedMac } from "./hmac.ts";

/** What a verified refresh token names. */
export interface RefreshTokenClaims {
  /**
   * The session's id. Called `family` here because a refresh token is one link of the
   * session's rotation chain (its "token family"): the chain is what this module is about.
   */
  readonly family: string;
  readonly generation: number;
}

/** Mints and verifies refresh tokens with the configured secrets. */
export interface RefreshTokens {
  /** Mints the (version-2, issuer-bound) token for `generation` of `family` with the newest secret. */
  mint(family: string, generation: number): Promise<string>;
  /** The family and generation a token names, or null for anything this deployment did not issue. */
  verify(token: string): Promise<RefreshTokenClaims | null>;
}

/** Longest string worth parsing; real tokens are 12 + 36 + ≤16 + 43 + 3 characters. */
export const MAX_REFRESH_TOKEN_LENGTH = 128;

const TOKEN_PATTERN = new RegExp(
  `^([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{12})\\.(${UUID_PATTERN})\\.(0|[1-9][0-9]{0,15})\\.(${SHA256_BASE64URL_PATTERN})$`,
);
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

/** One verifying key: the secret's keyed HMAC and the MAC input prefix of its version. */
interface VersionedKey {
  readonly key: KeyedMac;
  readonly prefix: string;
}

/**
 * Builds the minter and verifier; `secrets` are newest first and non-empty, `issuer`
 * is the deployment's `SESSION_ISSUER`.
 */
export async function createRefreshTokens(
  secrets: readonly string[],
  issuer: string,
): Promise<RefreshTokens> {
  if (secrets.length === 0) throw new Error("createRefreshTokens: no secret");
  if (issuer === "" || issuer.includes("\0")) throw new Error("createRefreshTokens: bad issuer");
  const keys = new Map<string, VersionedKey>();
  const add = (kid: string, entry: VersionedKey) => {
    if (keys.has(kid)) throw new Error("createRefreshTokens: two secrets share a key id");
    keys.set(kid, entry);
  };
  let newestKid: string | undefined;
  for (const secret of secrets) {
    const key = keyedMac(secret);
    const kid = await keyId(`sessionguard refresh key id v2\0${issuer}\0${secret}`, 12);
    add(kid, { key, prefix: `sessionguard refresh v2\0${issuer}\0` });
    add(await keyId(`sessionguard refresh key id\0${secret}`, 8), { key, prefix: "" });
    newestKid ??= kid;
  }

  const macOf = ({ key, prefix }: VersionedKey, family: string, generation: number): string =>
    base64url(key(`${prefix}${family}.${generation}`));

  const mint = (family: string, generation: number): string => {
    if (!Number.isSafeInteger(generation) || generation < 0) throw new Error("mint: bad generation");
    const mac = macOf(keys.get(newestKid!)!, family, generation);
    const token = `${newestKid}.${family}.${generation}.${mac}`;
    if (parseRefreshToken(token) === null) throw new Error("mint: bad family id");
    return token;
  };
  const verify = (token: string): RefreshTokenClaims | null => {
    const parts = parseRefreshToken(token);
    if (parts === null) return null;
    const key = keys.get(parts.kid);
    if (key === undefined) return null;
    const expected = macOf(key, parts.family, parts.generation);
    // Compared as canonical strings so that no second encoding of the same MAC verifies.
    if (!timingSafeEqual(expected, parts.mac)) return null;
    return { family: parts.family, generation: parts.generation };
  };
  // Synchronous inside; the interface stays promise-based, a refusal a rejected promise.
  return {
    mint: (family, generation) => settle(() => mint(family, generation)),
    verify: (token) => settle(() => verify(token)),
  };
}

function settle<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error);
  }
}

async function keyId(input: string, length: number): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(input));
  return base64url(new Uint8Array(digest)).slice(0, length);
}
