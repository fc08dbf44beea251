/**
 * Runs the real `supabase/functions/clerk-webhook/index.ts` in a Deno process,
 * and signs Clerk-shaped deliveries for it the way Svix does, with the
 * `standardwebhooks` library's own signing and a secret made in the test.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import {
  failingFunctionStart,
  type FunctionServer,
  type Settings,
  startFunctionServer,
} from "../../scripts/lib/function-server.ts";

export type ClerkWebhookServer = FunctionServer;

/** A fresh `whsec_...` secret of 24 random bytes, as Svix makes them. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** A Svix-looking message id. */
export function newDeliveryId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

export interface SignedDelivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * A delivery of `event` signed with `secret` as Svix signs it: `svix-id`,
 * `svix-timestamp` (from `date`) and `svix-signature` over id, timestamp and
 * the exact body.
 */
export function signDelivery(
  secret: string,
  event: unknown,
  options: { id?: string; date?: Date; body?: string } = {},
): SignedDelivery {
  const id = options.id ?? newDeliveryId();
  const date = options.date ?? new Date();
  const body = options.body ?? JSON.stringify(event);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": String(Math.floor(date.getTime() / 1000)),
      "svix-signature": new Webhook(secret).sign(id, date, body),
    },
  };
}

/** A Clerk event envelope as Clerk sends it. */
export function clerkEvent(type: string, data: Record<string, unknown>): Record<string, unknown> {
  return {
    data,
    event_attributes: { http_request: { client_ip: "", user_agent: "" } },
    instance_id: "ins_test",
    object: "event",
    timestamp: Date.now(),
    type,
  };
}

/** Starts the function and resolves once it listens. */
export function startClerkWebhookServer(settings: Settings): Promise<ClerkWebhookServer> {
  return startFunctionServer("clerk-webhook", settings);
}

/** Runs the function expecting it to refuse to start; resolves with its exit code and stderr. */
export function failingClerkWebhookStart(
  settings: Settings,
): Promise<{ code: number | null; stderr: string }> {
  return failingFunctionStart("clerk-webhook", settings);
}
