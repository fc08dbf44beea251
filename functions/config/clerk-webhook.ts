/** The settings of the `clerk-webhook` function. */
import { parseOrgRemoved } from "./organizations.ts";
import { databaseUrl, type Env, settingReader } from "./read.ts";
import { webhookSecret } from "./webhook-secret.ts";

/** Settings of the `clerk-webhook` function. */
export interface ClerkWebhookConfig {
  /** `CLERK_WEBHOOK_SECRET`, the endpoint's `whsec_...` signing secret. */
  readonly webhookSecret: string;
  readonly databaseUrl: string;
  /** `SESSION_ORG_REMOVED`: `clear` the organization from its sessions, or `revoke` them. */
  readonly orgRemoved: "clear" | "revoke";
}

/** Parses the function's settings; throws {@link ConfigError} naming a bad or missing one. */
export function parseClerkWebhookConfig(env: Env): ClerkWebhookConfig {
  const get = settingReader(env);
  const secret = webhookSecret("CLERK_WEBHOOK_SECRET", get("CLERK_WEBHOOK_SECRET"));
  return Object.freeze({ webhookSecret: secret, databaseUrl: databaseUrl(get), orgRemoved: parseOrgRemoved(get) });
}
