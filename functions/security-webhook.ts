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
  const timeoutMs = options.timeoutMs ?? 5000;
  const attempts = Math.max(1, Math.floor(options.attempts ?? 4));
  const backoffMs = options.backoffMs ?? 1000;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  let backoffTotal = 0;
  for (let i = 1; i < attempts; i++) backoffTotal += backoffMs * 2 ** (i - 1);

  async function attempt(id: string, body: string): Promise<{ status: number | null; detail: string }> {
    const at = now();
    const timeout = AbortSignal.timeout(timeoutMs);
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
        signal: timeout,
      });
      await response.body?.cancel().catch(() => {});
      return { status: response.status, detail: response.ok ? "" : `HTTP ${response.status}` };
    } catch (error) {
      if (timeout.aborted) return { status: null, detail: `no answer within ${timeoutMs} ms` };
      return { status: null, detail: describe(error) };
    }
  }

  return {
    maxDurationMs: attempts * timeoutMs + backoffTotal,
    async send(type, data) {
      const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
      const body = JSON.stringify({ type, timestamp: now().toISOString(), data });
      for (let n = 1;; n++) {
        const { status, detail } = await attempt(id, body);
        const ok = status !== null && status >= 200 && status < 300;
        if (ok || n >= attempts) return { ok, id, attempts: n, status, detail };
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (n - 1)));
      }
    },
  };
}
