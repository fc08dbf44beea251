/**
 * The DPoP settings: `SESSION_DPOP` itself, the public URLs proofs may name,
 * server nonces, and what a refresh from the wrong key does.
 */
import { ConfigError, list, oneOf, type SettingReader } from "./read.ts";
import { baseUrl } from "./url.ts";

/** The DPoP settings. */
export interface DpopSettings {
  /**
   * `SESSION_DPOP`: `off` binds no new session (sessions bound before keep needing
   * their key), `optional` binds when `/start` carries a proof, `required` demands one.
   */
  readonly mode: "off" | "optional" | "required";
  /**
   * Public base URLs of the function (`SESSION_PUBLIC_URL`), against which `htu`
   * is also accepted; default `SESSION_ISSUER`.
   */
  readonly publicUrls: readonly string[];
  /** `SESSION_DPOP_NONCE=on`: every proof must carry a current server nonce. */
  readonly nonce: boolean;
  /** `SESSION_DPOP_MISMATCH`: on a refresh without the bound key, refuse only, or also revoke the session. */
  readonly mismatch: "refuse" | "revoke";
}

/**
 * Reads `SESSION_DPOP`, `SESSION_PUBLIC_URL`, `SESSION_DPOP_NONCE` and
 * `SESSION_DPOP_MISMATCH`; throws {@link ConfigError} naming a bad one. `issuer`
 * is `SESSION_ISSUER`, the default public URL.
 */
export function parseDpopSettings(get: SettingReader, issuer: string): DpopSettings {
  const mode = oneOf("SESSION_DPOP", get("SESSION_DPOP"), ["off", "optional", "required"], "optional");
  const given = get("SESSION_PUBLIC_URL");
  const publicUrls = given === undefined
    ? [issuer]
    : list(given).map((item) => baseUrl("SESSION_PUBLIC_URL", item));
  const nonce = get("SESSION_DPOP_NONCE") ?? "off";
  if (nonce !== "on" && nonce !== "off") throw new ConfigError("SESSION_DPOP_NONCE", "must be on or off");
  const mismatch = get("SESSION_DPOP_MISMATCH") ?? "refuse";
  if (mismatch !== "refuse" && mismatch !== "revoke") {
    throw new ConfigError("SESSION_DPOP_MISMATCH", "must be refuse or revoke");
  }
  return Object.freeze({ mode, publicUrls: Object.freeze(publicUrls), nonce: nonce === "on", mismatch });
}
