/**
 * The optional outgoing security webhook (`SECURITY_WEBHOOK_URL`): tells the
 * app's own backend, in the Standard Webhooks format, that sessionguard caught
 * a stolen refresh token.
 *
 * Each message is a JSON body `{"type", "timestamp", "data"}` with the headers
 * `webhook-id` (the same for every attempt, so receivers can drop repeats),
 * `webhook-timestamp` and `webhook-signature` (`v1,` HMAC-SHA-256 over
 * `id.timestamp.body` with `SECURITY_WEBHOOK_SECRET`), signed afresh on each
 * attempt by the `standardwebhooks` library. Any answer but 2xx, redirects
 * included, is a failed attempt; attempts are bounded and spaced by doubling
 * backoff. It never throws.
 */
import { Webhook } from "standardwebhooks";
import { describe } from "./describe-error.ts";
import { type Attempted, maxDurationMs, retryPolicy, withRetries } from "./outbound-retry.ts";

/** Where and how messages are delivered. */
export interface SecurityWebhookOptions {
  /** `SECURITY_WEBHOOK_URL`. */
  readonly url: string;
  /** `SECURITY_WEBHOOK_SECRET`, `whsec_` + base64. */
  readonly secret: string;
  /** Per attempt, ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts in all, at least 1. Default 4. */
  readonly attempts?: number;
  /** Wait before the second attempt, ms; doubled before each further one. Default 1000. */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

/** What came of a delivery. */
export interface DeliveryOutcome {
  readonly ok: boolean;
  /** The message's `webhook-id`. */
  readonly id: string;
  readonly attempts: number;
  /** The last HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Why the last attempt failed; empty on success. */
  readonly detail: string;
}

/** Sends signed messages to the configured URL. */
export interface SecurityWebhook {
  /** Delivers one message of `type` carrying `data`; resolves when it was accepted or every attempt failed. */
  send(type: string, data: Readonly<Record<string, unknown>>): Promise<DeliveryOutcome>;
  /** The longest `send` can take: every attempt timing out, plus the backoffs. */
  readonly maxDurationMs: number;
}

/** Builds the sender. */
export function createSecurityWebhook(options: SecurityWebhookOptions): SecurityWebhook {
  const signer = new Webhook(options.secret);
  const policy = retryPolicy(options, { timeoutMs: 5000, attempts: 4, backoffMs: 1000 });
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());

  async function attempt(
    id: string,
    body: string,
    signal: AbortSignal,
    timedOut: () => boolean,
  ): Promise<Attempted<{ status: number | null; detail: string }>> {
    const at = now();
    try {
      const response = await doFetch(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "sessionguard",
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
          "webhook-signature": signer.sign(id, at, body),
        },
        body,
        redirect: "manual",
        signal,
      });
      await response.body?.cancel().catch(() => {});
      return { outcome: { status: response.status, detail: response.ok ? "" : `HTTP ${response.status}` }, retry: !response.ok };
    } catch (error) {
      const detail = timedOut() ? `no answer within ${policy.timeoutMs} ms` : describe(error);
      return { outcome: { status: null, detail }, retry: true };
    }
  }

  return {
    maxDurationMs: maxDurationMs(policy),
    async send(type, data) {
      const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
      const body = JSON.stringify({ type, timestamp: now().toISOString(), data });
      const { outcome, attempts } = await withRetries(policy, (signal, timedOut) => attempt(id, body, signal, timedOut));
      const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
      return { ok, id, attempts, ...outcome };
    },
  };
}
