/**
 * HTTP load with autocannon where every request carries a live, one-time
 * refresh token: each response's successor token is what that connection (or
 * the shared pool) presents next, so no token is ever sent twice.
 *
 * autocannon drives the sockets; latencies are recorded here per response with
 * sub-millisecond resolution (autocannon's own histogram keeps whole ms).
 * Only 200 answers count as throughput and latency; anything else is an error.
 */
import autocannon from "autocannon";
import { percentile } from "./log.ts";

/** How a target takes a token and names its successor. */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The request body presenting `token`. */
  body(token: string): string;
  /** The successor token in a 200 response body, or null. */
  successor(body: string): string | null;
}

/**
 * Where tokens come from: one per connection that the connection keeps
 * following, or a shared queue that each request takes from and returns the
 * successor to.
 */
export type Tokens =
  | { readonly kind: "per-connection"; readonly tokens: readonly string[] }
  | { readonly kind: "pool"; readonly tokens: string[] };

export interface LoadResult {
  readonly target: string;
  readonly connections: number;
  readonly seconds: number;
  readonly ok: number;
  /** Non-200 answers by status, plus "error" and "timeout" for socket trouble. */
  readonly errors: Readonly<Record<string, number>>;
  /** The first few non-200 bodies, to tell why. */
  readonly errorSamples: readonly string[];
  readonly rps: number;
  readonly latencyMs: {
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

interface ClientLike {
  setBody(body: string): void;
  on(event: "response", listener: (status: number, bytes: number, durationMs: number) => void): void;
}

/** Runs `connections` keep-alive connections against `target` for `seconds`. */
export async function runLoad(
  target: Target,
  tokens: Tokens,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  if (tokens.kind === "per-connection" && tokens.tokens.length < connections) {
    throw new Error(
      `${target.name}: ${connections} connections need as many tokens, got ${tokens.tokens.length}`,
    );
  }
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  let ok = 0;
  let next = 0;
  // autocannon calls a request's onResponse and then, synchronously, emits the
  // client's "response" event: the body seen last belongs to that client.
  let lastBody = "";

  const take = (): string | undefined => {
    if (tokens.kind === "per-connection") return tokens.tokens[next++];
    return tokens.tokens.shift();
  };

  const instance = autocannon({
    url: target.url,
    method: "POST",
    headers: { ...target.headers },
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [{ method: "POST", onResponse: (_status: number, body: string) => (lastBody = body) }],
    setupClient(client: ClientLike) {
      let token = take();
      client.setBody(target.body(token ?? "exhausted"));
      client.on("response", (status, _bytes, durationMs) => {
        if (status === 200) {
          ok++;
          latencies.push(durationMs);
          const successor = target.successor(lastBody);
          if (tokens.kind === "pool") {
            if (successor) tokens.tokens.push(successor);
            token = take();
          } else if (successor) {
            token = successor;
          }
        } else {
          errors[status] = (errors[status] ?? 0) + 1;
          if (errorSamples.length < 3) errorSamples.push(`${status} ${lastBody.slice(0, 300)}`);
          if (tokens.kind === "pool") token = take();
        }
        client.setBody(target.body(token ?? "exhausted"));
      });
    },
  });
  const result = await instance;
  if (result.errors) errors.error = (errors.error ?? 0) + result.errors;
  if (result.timeouts) errors.timeout = (errors.timeout ?? 0) + result.timeouts;
  latencies.sort((a, b) => a - b);
  return {
    target: target.name,
    connections,
    seconds: result.duration,
    ok,
    errors,
    errorSamples,
    rps: ok / result.duration,
    latencyMs: {
      mean: latencies.reduce((sum, value) => sum + value, 0) / (latencies.length || 1),
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1] : NaN,
    },
  };
}
