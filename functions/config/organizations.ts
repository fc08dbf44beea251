/**
 * Settings of P15's session rules: how many sessions a user may hold
 * (`SESSION_MAX_PER_USER`, off by default, and what happens past it,
 * `SESSION_MAX_PER_USER_MODE`), and what Clerk's organization webhooks do to
 * the sessions in an organization a user left or that was deleted
 * (`SESSION_ORG_REMOVED`: `clear` the organization, or `revoke` the sessions).
 */
import { ConfigError, oneOf, type SettingReader } from "./read.ts";

/** `SESSION_MAX_PER_USER` and its mode, or null when there is no limit. */
export interface SessionLimit {
  readonly max: number;
  /** `revoke-oldest` signs out the least recently used session; `refuse` refuses the new one. */
  readonly mode: "revoke-oldest" | "refuse";
}

/** The highest limit the database accepts (start_session_with_claims). */
const MAX_SESSIONS = 10_000;

/** Parses `SESSION_MAX_PER_USER` (`off` or a whole number) and `SESSION_MAX_PER_USER_MODE`. */
export function parseSessionLimit(get: SettingReader): SessionLimit | null {
  const value = get("SESSION_MAX_PER_USER") ?? "off";
  const mode = oneOf("SESSION_MAX_PER_USER_MODE", get("SESSION_MAX_PER_USER_MODE"), [
    "revoke-oldest",
    "refuse",
  ], "revoke-oldest");
  if (value === "off") return null;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_SESSIONS) {
    throw new ConfigError("SESSION_MAX_PER_USER", `must be off or a whole number from 1 to ${MAX_SESSIONS}`);
  }
  return Object.freeze({ max: Number(value), mode });
}

/** `SESSION_ORG_REMOVED`: what a removed membership or a deleted organization does to its sessions. */
export function parseOrgRemoved(get: SettingReader): "clear" | "revoke" {
  return oneOf("SESSION_ORG_REMOVED", get("SESSION_ORG_REMOVED"), ["clear", "revoke"], "clear");
}
