/**
 * A local receiver for the outgoing security webhook: it checks every delivery
 * with the `standardwebhooks` library and the secret it was given, records
 * what came, and can be told to fail the next deliveries.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One delivery as received. */
export interface Delivery {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  /** Whether the library accepted the signature (and timestamp). */
  readonly verified: boolean;
  /** The raw body. */
  readonly body: string;
  /** The parsed body, when it is JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any message shape
  readonly payload: any;
  readonly contentType: string | undefined;
  /** The status the receiver answered. */
  readonly status: number;
}

/** How to answer one delivery. */
export interface ReceiverAnswer {
  status?: number;
  delayMs?: number;
}

export interface WebhookReceiver {
  readonly url: string;
  /** The `whsec_...` secret it verifies with. */
  readonly secret: string;
  /** Answers for the next deliveries, in order; later ones get 204. */
  script(...answers: ReceiverAnswer[]): void;
  deliveries(): readonly Delivery[];
  /** Resolves once `count` deliveries have arrived. */
  waitForDeliveries(count: number): Promise<readonly Delivery[]>;
  stop(): Promise<void>;
}

/** Starts a receiver that verifies with `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const deliveries: Delivery[] = [];
  const queue: ReceiverAnswer[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => req.headers[name] as string | undefined;
      let verified = false;
      try {
        verifier.verify(body, {
          "webhook-id": header("webhook-id") ?? "",
          "webhook-timestamp": header("webhook-timestamp") ?? "",
          "webhook-signature": header("webhook-signature") ?? "",
        });
        verified = true;
      } catch {
        verified = false;
      }
      let payload: unknown = null;
      try {
        payload = JSON.parse(body);
      } catch {
        payload = null;
      }
      const answer = queue.shift() ?? {};
      const status = verified ? answer.status ?? 204 : 401;
      deliveries.push({
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        verified,
        body,
        payload,
        contentType: header("content-type"),
        status,
      });
      for (const waiter of waiters.filter((w) => deliveries.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const reply = () => res.writeHead(status).end();
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/security`,
    secret,
    script: (...answers) => void queue.push(...answers),
    deliveries: () => [...deliveries],
    waitForDeliveries: (count) =>
      new Promise((resolve) => {
        if (deliveries.length >= count) return resolve([...deliveries]);
        waiters.push({ count, resolve: () => resolve([...deliveries]) });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
