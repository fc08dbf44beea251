/**
 * The `clerk-webhook` edge function: the only code of it that reads `Deno.env`.
 *
 * Settings (`CLERK_WEBHOOK_SECRET`, `DATABASE_URL` or `SUPABASE_DB_URL`) are
 * parsed once at start-up; a bad or missing one stops the function with a
 * message naming it. Served by `Deno.serve` in Supabase's Edge Runtime, or with
 * `deno run -A supabase/functions/clerk-webhook/index.ts` locally (port `PORT`,
 * default 8000). A local gateway can import {@link createClerkWebhookFunction}
 * and mount the handler itself.
 */
import {
  type ClerkWebhookDeps,
  createApplyClerkEvent,
  createClerkWebhookHandler,
  parseClerkWebhookConfig,
} from "../../../functions/clerk-webhook.ts";
import { ConfigError, type Env } from "../../../functions/config.ts";
import { openDatabase } from "../../../functions/store.ts";

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
    applyClerkEvent: createApplyClerkEvent(sql),
    ...options,
  });
  return { handler, close: () => sql.end({ timeout: 5 }) };
}

// Served when run directly, or inside the Edge Runtime (which defines `EdgeRuntime`);
// not when a local gateway imports this module.
if (import.meta.main || "EdgeRuntime" in globalThis) {
  let webhook: ClerkWebhookFunction;
  try {
    webhook = createClerkWebhookFunction(Deno.env.toObject());
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : String(error);
    console.error(`clerk-webhook: cannot start: ${reason}`);
    Deno.exit(1);
  }
  if ("EdgeRuntime" in globalThis) {
    Deno.serve(webhook.handler);
  } else {
    const server = Deno.serve({
      hostname: Deno.env.get("HOST") ?? "0.0.0.0",
      port: Number(Deno.env.get("PORT") ?? 8000),
      onListen: ({ hostname, port }) => console.log(`clerk-webhook: listening on http://${hostname}:${port}`),
    }, webhook.handler);
    const stop = async () => {
      await server.shutdown();
      await webhook.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  }
}
