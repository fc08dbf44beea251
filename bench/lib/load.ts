/**
 * HTTP load with autocannon where every request carries a live, one-time
 * refresh token: each response's successor token is what that connection (or
 * the shared pool) presents next, so no token is ever sent twice.
 *
 * autocannon drives the sockets; latencies are recorded here per response with
 * sub-millisecond resolution (autocannon's own histogram keeps whole ms).
 * Only 200 answers count as throughput and latency; anything else is an error.
 * `measure` samples the CPU and memory of the server, Postgres and the load
 * generator around a run.
 */
import autocannon from "autocannon";
import type { BenchDatabase } from "./database.ts";
import { percentile } from "./log.ts";
import { cpuMs, sampleRss, treeCpuMs } from "./proc.ts";
import type { LoadResult, MeasuredRun } from "./results.ts";

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

/** CPU ms so far of each backend the session function (or the baseline) holds open. */
async function backendCpu(db: BenchDatabase): Promise<Map<number, number>> {
  const rows = await db.sql<{ pid: number }[]>`
    select pid from pg_catalog.pg_stat_activity where application_name = 'sessionguard'`;
  return new Map(rows.map(({ pid }) => [pid, cpuMs(pid)]));
}

/** One load run of the server `pid` answers for, with CPU and memory sampled around it. */
export async function measure(
  server: { readonly pid: number; readonly target: Target },
  tokens: Tokens,
  connections: number,
  seconds: number,
  db: BenchDatabase,
): Promise<MeasuredRun> {
  const backendsBefore = await backendCpu(db);
  const rss = sampleRss(server.pid);
  const serverBefore = cpuMs(server.pid);
  const postgresBefore = treeCpuMs(db.postmasterPid);
  const loadBefore = process.cpuUsage();
  const result = await runLoad(server.target, tokens, connections, seconds);
  const load = process.cpuUsage(loadBefore);
  const postgresUsed = treeCpuMs(db.postmasterPid) - postgresBefore;
  const serverUsed = cpuMs(server.pid) - serverBefore;
  const memory = rss.stop();
  let backendsUsed = 0;
  for (const [pid, ms] of await backendCpu(db)) {
    if (Number.isFinite(ms)) backendsUsed += ms - (backendsBefore.get(pid) ?? 0);
  }
  const perRequest = (ms: number) => (result.ok > 0 ? (ms * 1000) / result.ok : NaN);
  return {
    ...result,
    cpuUsPerRequest: {
      server: perRequest(serverUsed),
      postgres: perRequest(postgresUsed),
      serverBackends: perRequest(backendsUsed),
      loadGenerator: perRequest((load.user + load.system) / 1000),
    },
    rss: { peakKb: memory.peakKb, meanKb: memory.meanKb },
  };
}

/** One line for the progress log: req/s, p50, p99 and errors. */
export function describeRun(run: LoadResult): string {
  const errors = Object.entries(run.errors).map(([code, n]) => `${n}x${code}`).join(" ");
  return `${Math.round(run.rps)} req/s, p50 ${run.latencyMs.p50.toFixed(2)} ms, p99 ${run.latencyMs.p99.toFixed(2)} ms` +
    (errors ? `, errors ${errors}` : "");
}
