/**
 * The `clerk-webhook` edge function: the only code of it that reads `Deno.env`.
 *
 * Settings (`CLERK_WEBHOOK_SECRET`, `DATABASE_URL` or `SUPABASE_DB_URL`) are
 * parsed once at start-up; a bad or missing one is logged by name and stops the
 * function, or in the Edge Runtime makes every request answer 500 (../_shared/serve.ts).
 * Served by `Deno.serve` in Supabase's Edge Runtime, or with
 * `deno run -A supabase/functions/clerk-webhook/index.ts` locally (port `PORT`,
 * default 8000). A local gateway can import {@link createClerkWebhookFunction}
 * and mount the handler itself.
 */
import {
  type ClerkWebhookDeps,
  createApplyClerkEvent,
  createClerkWebhookHandler,
} from "../../../functions/clerk-webhook.ts";
import { type Env, parseClerkWebhookConfig } from "../../../functions/config.ts";
import { openDatabase } from "../../../functions/store.ts";
import { inEdgeRuntime, serveFunction } from "../_shared/serve.ts";

/** A ready handler and the way to release its database pool. */
export interface ClerkWebhookFunction {
  readonly handler: (request: Request) => Promise<Response>;
  close(): Promise<void>;
}

/** Parses `env` and builds the handler; throws {@link ConfigError} naming a bad setting. */
export function createClerkWebhookFunction(
  env: Env,
  options: Pick<ClerkWebhookDeps, "log"> = {},
): ClerkWebhookFunction {
  const config = parseClerkWebhookConfig(env);
  const sql = openDatabase(config.databaseUrl);
  const handler = createClerkWebhookHandler({
    webhookSecret: config.webhookSecret,
    applyClerkEvent: createApplyClerkEvent(sql, { orgRemoved: config.orgRemoved }),
    ...options,
  });
  return { handler, close: () => sql.end({ timeout: 5 }) };
}

// Served when run directly, or inside the Edge Runtime (which defines `EdgeRuntime`);
// not when a local gateway imports this module.
if (import.meta.main || inEdgeRuntime()) {
  await serveFunction("clerk-webhook", (env) => Promise.resolve(createClerkWebhookFunction(env)));
}
