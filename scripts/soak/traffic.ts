/**
 * The HTTP side of the load and fault runs: every request goes through one
 * {@link Traffic}, which bounds how many are in flight and counts every
 * outcome (status and error code, network failure, deliberate abort) under
 * the phase that was current when it was answered.
 */

/** What a client saw for one request. */
export type Answer =
  | {
    readonly kind: "http";
    readonly status: number;
    /** `error` of an error body, else null. */
    readonly code: string | null;
    /** `refresh_token` of a token response, else null. */
    readonly refreshToken: string | null;
    readonly retryAfter: string | null;
    readonly contentType: string | null;
  }
  /** No HTTP answer: refused, reset or closed connection. */
  | { readonly kind: "network"; readonly error: string }
  /** The client gave up on purpose (a "lost response"). */
  | { readonly kind: "aborted" };

/** How a request is sent. */
export interface SendOptions {
  /** Drop the request after this many ms, whether or not the server got it: the answer is "aborted". */
  readonly abortAfterMs?: number;
  /**
   * Next in line for a slot. The queue stands in for the capacity of the network
   * and the server; a real client's retry inside the grace window, or its racing
   * tabs, does not wait behind thousands of other users' requests.
   */
  readonly urgent?: boolean;
}

/** Request facts a simulated client sends. */
export interface ClientFacts {
  readonly ip: string;
  readonly userAgent: string;
}

/** How the outcome is counted: "200", "401 refresh_token_reused", "network ECONNREFUSED", "aborted". */
export function outcomeLabel(answer: Answer): string {
  if (answer.kind === "http") return answer.code ? `${answer.status} ${answer.code}` : `${answer.status}`;
  if (answer.kind === "network") return `network ${answer.error}`;
  return "aborted";
}

/** Bounded, counted HTTP traffic to the session function. */
export class Traffic {
  /** Label that outcomes of requests answered from now on are counted under. */
  phase = "load";
  sent = 0;
  /** phase → outcome label → count. */
  readonly outcomes = new Map<string, Map<string, number>>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly maxInFlight: number) {}

  /** POSTs a refresh. */
  refresh(base: string, token: string, facts: ClientFacts, options: SendOptions = {}): Promise<Answer> {
    const headers = { "content-type": "application/json", "cf-connecting-ip": facts.ip, "user-agent": facts.userAgent };
    return this.send(base + "/refresh", { method: "POST", headers, body: JSON.stringify({ refresh_token: token }) }, options);
  }

  /** Any request, counted like the others. */
  async send(url: string, init: RequestInit, options: SendOptions = {}): Promise<Answer> {
    await this.acquire(options.urgent ?? false);
    this.sent++;
    let answer: Answer;
    try {
      answer = await request(url, init, options.abortAfterMs);
    } finally {
      this.release();
    }
    // Counted under the phase in which the answer came: a request the fault caught fails "during" it.
    const phase = this.phase;
    const counts = this.outcomes.get(phase) ?? new Map<string, number>();
    this.outcomes.set(phase, counts);
    let label = outcomeLabel(answer);
    // A 5xx must still be the API's error: JSON, and a 503 tells the client when to come back.
    if (answer.kind === "http" && answer.status >= 500) {
      const json = answer.contentType?.startsWith("application/json") ?? false;
      if (!json || (answer.status === 503 && answer.retryAfter === null)) label += " (malformed)";
    }
    counts.set(label, (counts.get(label) ?? 0) + 1);
    return answer;
  }

  /** Outcome counts over every phase. */
  totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const counts of this.outcomes.values()) {
      for (const [label, n] of counts) totals.set(label, (totals.get(label) ?? 0) + n);
    }
    return totals;
  }

  /** One line per phase: its outcomes, most frequent first. */
  phaseLines(): string[] {
    return [...this.outcomes].map(([phase, counts]) =>
      `  ${phase}: ${[...counts].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label}: ${n}`).join(", ")}`
    );
  }

  /** How many answers had a 5xx status, per phase. */
  serverErrors(): Map<string, number> {
    const result = new Map<string, number>();
    for (const [phase, counts] of this.outcomes) {
      for (const [label, n] of counts) {
        if (/^5\d\d\b/.test(label)) result.set(phase, (result.get(phase) ?? 0) + n);
      }
    }
    return result;
  }

  private async acquire(urgent: boolean): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => (urgent ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.inFlight--;
  }
}

async function request(url: string, init: RequestInit, abortAfterMs?: number): Promise<Answer> {
  const controller = new AbortController();
  const timer = abortAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), abortAfterMs);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    const text = await response.text();
    if (controller.signal.aborted) return { kind: "aborted" };
    let body: Record<string, unknown> | null = null;
    try {
      const parsed = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null) body = parsed;
    } catch { /* not JSON */ }
    return {
      kind: "http",
      status: response.status,
      code: typeof body?.error === "string" ? body.error : null,
      refreshToken: typeof body?.refresh_token === "string" ? body.refresh_token : null,
      retryAfter: response.headers.get("retry-after"),
      contentType: response.headers.get("content-type"),
    };
  } catch (error) {
    if (controller.signal.aborted) return { kind: "aborted" };
    return { kind: "network", error: networkCode(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** The most specific code of a fetch failure (ECONNREFUSED, UND_ERR_SOCKET, ...). */
function networkCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}
