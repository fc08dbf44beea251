/**
 * The DPoP settings beyond `SESSION_DPOP` itself: the public URLs proofs may
 * name, server nonces, and what a refresh from the wrong key does.
 */
import { ConfigError, type Env, list, settingReader } from "./read.ts";
import { baseUrl } from "./url.ts";

/** The DPoP settings beyond `SESSION_DPOP` itself. */
export interface DpopSettings {
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
 * Reads `SESSION_PUBLIC_URL`, `SESSION_DPOP_NONCE` and `SESSION_DPOP_MISMATCH`;
 * throws {@link ConfigError} naming a bad one. `issuer` is `SESSION_ISSUER`, the
 * default public URL. With an empty `env`: the defaults.
 */
export function parseDpopSettings(env: Env, issuer: string): DpopSettings {
  const get = settingReader(env);
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
  return Object.freeze({ publicUrls: Object.freeze(publicUrls), nonce: nonce === "on", mismatch });
}
