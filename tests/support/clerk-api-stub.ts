/**
 * A local stand-in for Clerk's Backend API, for tests of the theft response:
 * it answers `POST /v1/sessions/{id}/revoke`, records every call, and can be
 * told to answer the next calls slowly, with an error status, or not at all.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the stub received. */
export interface ClerkApiCall {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  /** The session id of a revoke call, else null. */
  readonly sessionId: string | null;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
  /** True once the client hung up before the stub answered (a client-side timeout). */
  readonly abandoned: boolean;
}

/** How to answer one call. */
export interface ScriptedAnswer {
  /** HTTP status; default 200. */
  status?: number;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Never answer (until the client gives up or the stub stops). */
  hang?: boolean;
  /** Drop the connection without an answer. */
  reset?: boolean;
}

export interface ClerkApiStub {
  /** Origin to use as CLERK_API_URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** The secret key the stub accepts. */
  readonly secretKey: string;
  /** Answers for the next calls, in order; later calls get the default 200. */
  script(...answers: ScriptedAnswer[]): void;
  calls(): readonly ClerkApiCall[];
  /** Resolves once `count` calls have arrived. */
  waitForCalls(count: number): Promise<readonly ClerkApiCall[]>;
  stop(): Promise<void>;
}

const REVOKE = /^\/v1\/sessions\/([^/]+)\/revoke$/;

/** Starts the stub on a free port of 127.0.0.1. */
export async function startClerkApiStub(
  secretKey = "sk_test_stubsecretkey0123456789",
): Promise<ClerkApiStub> {
  const calls: ClerkApiCall[] = [];
  const queue: ScriptedAnswer[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    const match = REVOKE.exec(path);
    const call = {
      method: req.method ?? "",
      path,
      authorization: req.headers.authorization,
      sessionId: match ? decodeURIComponent(match[1]) : null,
      at: Date.now(),
      abandoned: false,
    };
    calls.push(call);
    res.once("close", () => {
      if (!res.writableFinished) call.abandoned = true;
    });
    for (const waiter of waiters.filter((w) => calls.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    req.resume();
    const answer = queue.shift() ?? {};
    if (answer.hang) return;
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    const send = () => {
      if (res.writableEnded || res.destroyed) return;
      if (req.headers.authorization !== `Bearer ${secretKey}`) {
        return json(res, 401, { errors: [{ code: "authentication_invalid", message: "Unauthorized" }] });
      }
      if (req.method !== "POST" || !match) {
        return json(res, 404, { errors: [{ code: "resource_not_found", message: "Not found" }] });
      }
      const status = answer.status ?? 200;
      if (status >= 400) {
        return json(res, status, { errors: [{ code: `stub_${status}`, message: "Scripted" }] });
      }
      json(res, status, { object: "session", id: decodeURIComponent(match[1]), status: "revoked" });
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secretKey,
    script: (...answers) => void queue.push(...answers),
    calls: () => calls.map((call) => ({ ...call })),
    waitForCalls: (count) =>
      new Promise((resolve) => {
        if (calls.length >= count) return resolve(calls.map((call) => ({ ...call })));
        waiters.push({ count, resolve: () => resolve(calls.map((call) => ({ ...call }))) });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
