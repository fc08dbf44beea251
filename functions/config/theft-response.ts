/**
 * The settings of what happens beyond the database when a stolen refresh token
 * is caught: Clerk's Backend API (`CLERK_SECRET_KEY`, `CLERK_API_URL`) and the
 * security webhook (`SECURITY_WEBHOOK_URL`, `SECURITY_WEBHOOK_SECRET`).
 */
import { CLERK_API_URL } from "../clerk-api.ts";
import { ConfigError, type SettingReader } from "./read.ts";
import { checkedUrl } from "./url.ts";
import { webhookSecret } from "./webhook-secret.ts";

/** Settings of the theft response, parsed from the session function's environment. */
export interface TheftResponseSettings {
  /** Null unless `CLERK_SECRET_KEY` is set. */
  readonly clerkApi: { readonly secretKey: string; readonly apiUrl: string } | null;
  /** Null unless `SECURITY_WEBHOOK_URL` is set. */
  readonly securityWebhook: { readonly url: string; readonly secret: string } | null;
}

/**
 * Reads `CLERK_SECRET_KEY`, `CLERK_API_URL` (default {@link CLERK_API_URL}),
 * `SECURITY_WEBHOOK_URL` and `SECURITY_WEBHOOK_SECRET`; throws
 * {@link ConfigError} naming a bad one. The URL and secret of the webhook come
 * together or not at all.
 */
export function parseTheftResponseSettings(get: SettingReader): TheftResponseSettings {

  const secretKey = get("CLERK_SECRET_KEY");
  if (secretKey !== undefined && !/^sk_(live|test)_[A-Za-z0-9_-]{8,}$/.test(secretKey)) {
    throw new ConfigError("CLERK_SECRET_KEY", 'must be a Clerk secret key ("sk_live_..." or "sk_test_...")');
  }
  const apiUrl = checkedUrl("CLERK_API_URL", get("CLERK_API_URL") ?? CLERK_API_URL, "keep").href;

  const webhookUrl = get("SECURITY_WEBHOOK_URL");
  const webhookSecretValue = get("SECURITY_WEBHOOK_SECRET");
  if (webhookUrl === undefined && webhookSecretValue !== undefined) {
    throw new ConfigError("SECURITY_WEBHOOK_URL", "is required when SECURITY_WEBHOOK_SECRET is set");
  }
  const securityWebhook = webhookUrl === undefined ? null : Object.freeze({
    url: checkedUrl("SECURITY_WEBHOOK_URL", webhookUrl, "keep").href,
    secret: webhookSecret("SECURITY_WEBHOOK_SECRET", webhookSecretValue),
  });

  return Object.freeze({
    clerkApi: secretKey === undefined ? null : Object.freeze({ secretKey, apiUrl }),
    securityWebhook,
  });
}
