/**
 * Checking a Standard Webhooks / Svix signing secret (`whsec_` followed by
 * base64) at start-up, so that a mistyped secret stops the function with the
 * setting's name instead of failing every delivery later.
 */
import { ConfigError } from "./read.ts";

/** Fewest secret bytes accepted: 128 bits (Svix issues 192). */
export const MIN_WEBHOOK_SECRET_BYTES = 16;

/** The secret as given, after checking its shape; throws {@link ConfigError} naming `setting`. */
export function webhookSecret(setting: string, value: string | undefined): string {
  if (value === undefined || value.trim() === "") throw new ConfigError(setting, "is required");
  const secret = value.trim();
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!match) throw new ConfigError(setting, 'must look like "whsec_" followed by base64');
  let bytes: number;
  try {
    bytes = atob(match[1]).length;
  } catch {
    throw new ConfigError(setting, 'must look like "whsec_" followed by base64');
  }
  if (bytes < MIN_WEBHOOK_SECRET_BYTES) {
    throw new ConfigError(setting, `must decode to at least ${MIN_WEBHOOK_SECRET_BYTES} bytes`);
  }
  return secret;
}
