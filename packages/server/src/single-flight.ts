/**
 * One refresh per session in flight in this process, and its result kept a few
 * seconds for requests that still carry the token it spent.
 *
 * Why: a page load fans out (the document, Server Actions, prefetches, parallel Route
 * Handler calls), and every one of those requests carries the same cookie. Without
 * this, each would present the same refresh token; the first rotates it and the rest
 * present a spent one. The session function forgives that within its grace window
 * (P3) or, for a family bound to this server's key, while the successor is unused
 * (P14), but one network round trip and one rotation per burst is what a careful
 * server does. A request whose cookie was sent before the browser stored the rotated
 * one (it left before the first answer came back) finds the successor in `recent`.
 * Only the latest rotation of a session is kept there, as P3 forgives only the token
 * just rotated: an older copy (a replayed cookie) goes to the function, which takes it
 * for reuse. Across processes nothing is shared: there the function's own rules decide.
 */
import type { TokenResponse } from "./session-api.ts";

type Outcome = { ok: true; tokens: TokenResponse } | { ok: false; error: unknown };

export interface RefreshFlights {
  /** Refreshes `refreshToken` of session `sessionId` at most once at a time and once per token. */
  run(sessionId: string, refreshToken: string, refresh: () => Promise<TokenResponse>): Promise<TokenResponse>;
  /** Refreshes sent to the session function so far (for tests and metrics). */
  readonly sent: number;
}

const MAX_RECENT = 10_000;

/** @param retainMs how long a finished refresh answers for its spent token (default 10 s, SESSION_REUSE_GRACE's default). */
export function refreshFlights(retainMs = 10_000, now: () => number = Date.now): RefreshFlights {
  const inFlight = new Map<string, { token: string; promise: Promise<TokenResponse> }>();
  // Per session: the token its latest rotation here spent, and what that rotation answered.
  const recent = new Map<string, { token: string; outcome: Outcome; until: number }>();
  let sent = 0;

  const settled = (outcome: Outcome): TokenResponse => {
    if (outcome.ok) return outcome.tokens;
    throw outcome.error;
  };
  const remember = (sessionId: string, token: string, outcome: Outcome) => {
    const t = now();
    if (recent.size >= MAX_RECENT) {
      for (const [key, entry] of recent) if (entry.until <= t || recent.size >= MAX_RECENT) recent.delete(key);
    }
    recent.set(sessionId, { token, outcome, until: t + retainMs });
  };

  return {
    get sent() {
      return sent;
    },
    async run(sessionId, refreshToken, refresh) {
      for (;;) {
        const hit = recent.get(sessionId);
        if (hit?.token === refreshToken && hit.until > now()) return settled(hit.outcome);
        const flight = inFlight.get(sessionId);
        if (flight?.token === refreshToken) return await flight.promise;
        if (flight) {
          // Another generation of this session is being refreshed: wait, then look again.
          await flight.promise.catch(() => {});
          continue;
        }
        sent++;
        const promise = refresh().then(
          (tokens) => {
            remember(sessionId, refreshToken, { ok: true, tokens });
            return tokens;
          },
          (error: unknown) => {
            remember(sessionId, refreshToken, { ok: false, error });
            throw error;
          },
        ).finally(() => inFlight.delete(sessionId));
        inFlight.set(sessionId, { token: refreshToken, promise });
        return await promise;
      }
    },
  };
}
