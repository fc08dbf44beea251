/**
 * Rotation without ever tripping theft detection by ourselves. Refresh tokens are
 * one-time, so:
 * - single-flight: every caller in this client shares one refresh;
 * - across tabs (or clients sharing storage) the lock serialises refreshes, and
 *   storage is re-read under the lock, so a waiter adopts what the holder rotated
 *   instead of presenting a spent token;
 * - a refresh that got no answer is retried with the same token, only inside the
 *   server's reuse window (the `retryBudget` option).
 */
import type { ClientSettings } from "./client-options.ts";
import type { DeviceKeys } from "./device-keys.ts";
import type { DeviceKey } from "./dpop-proof.ts";
import { errorFromResponse, SessionError, TERMINAL_CODES } from "./errors.ts";
import type { SignedOutReason } from "./events.ts";
import { type Http, readTokenResponse } from "./http.ts";
import type { SessionState } from "./session-state.ts";
import {
  info,
  type Persisted,
  persisted,
  refreshDueAtMs,
} from "./stored-session.ts";
import type { TokenResponse } from "./types.ts";

/** Answers without which the server may still have rotated: retried with the same token. */
const NO_ANSWER_STATUSES = [500, 502, 503, 504];

/** Refreshes one client's session. */
export class Refresher {
  readonly #settings: ClientSettings;
  readonly #state: SessionState;
  readonly #keys: DeviceKeys;
  readonly #http: Http;
  #refreshing: Promise<Persisted | null> | null = null;

  constructor(
    settings: ClientSettings,
    state: SessionState,
    keys: DeviceKeys,
    http: Http,
  ) {
    this.#settings = settings;
    this.#state = state;
    this.#keys = keys;
    this.#http = http;
  }

  /** True when `s`'s access token is within the refresh margin of expiry (or past it). */
  due(s: Persisted): boolean {
    return this.#settings.now() >= refreshDueAtMs(s, this.#settings.marginMs);
  }

  /**
   * The session after `seen`: rotated now when `force` or due, else whatever is newest
   * in storage. Null when it turned out signed out meanwhile. Rejects with the server's
   * code; after a code that ends the session, the session is ended first.
   */
  refresh(seen: Persisted, force: boolean): Promise<Persisted | null> {
    if (this.#refreshing) return this.#refreshing;
    const { coordinator, lockName } = this.#settings;
    const flight = coordinator
      .withLock(lockName, () => this.#refreshLocked(seen, force))
      .finally(() => {
        if (this.#refreshing === flight) this.#refreshing = null;
      });
    this.#refreshing = flight;
    return flight;
  }

  async #refreshLocked(
    seen: Persisted,
    force: boolean,
  ): Promise<Persisted | null> {
    const state = this.#state;
    const latest = await state.read();
    if (!latest) {
      // Another tab signed out (its message may still be on the way).
      if (state.current) state.ended("signed_out", "other-tab");
      return null;
    }
    if (latest.refresh_token !== seen.refresh_token) {
      // Someone else rotated while we waited: their tokens are newer than the ones we saw.
      state.adopt(latest, "other-tab");
      return latest;
    }
    if (!force && !this.due(latest)) {
      state.adopt(latest, "other-tab");
      return latest;
    }
    let tokens: TokenResponse;
    try {
      const signer = await this.#keys.signerFor(latest);
      if (latest.dpop_jkt && !signer) {
        throw new SessionError(
          "invalid_dpop_proof",
          "this device no longer holds the key the session is bound to",
        );
      }
      tokens = await this.#postRefresh(latest.refresh_token, signer);
    } catch (err) {
      if (endsSession(err)) {
        await state.endLocked(err.code as SignedOutReason, err);
      }
      throw err;
    }
    const fresh = persisted(tokens, this.#settings.now());
    // Written before the lock is released, so the next holder reads the successor.
    await state.save(fresh);
    state.publish({ type: "tokens", from: state.id, session: fresh });
    state.events.emit("tokensRefreshed", {
      session: info(fresh),
      source: "this",
    });
    return fresh;
  }

  /**
   * POST /refresh, retrying the same token when no answer arrived. The server may have
   * rotated before the answer was lost; within its reuse window it hands back the identical
   * successor, so retrying is safe, while a retry after the window would look like theft.
   */
  async #postRefresh(
    refreshToken: string,
    signer: DeviceKey | null,
  ): Promise<TokenResponse> {
    const { retryBudget, retryDelays, timeout } = this.#settings;
    const started = Date.now();
    for (let attempt = 0;; attempt++) {
      const elapsed = Date.now() - started;
      let failure: SessionError;
      try {
        // A fresh proof per attempt: the server remembers every proof id it has seen.
        const res = await this.#http.exchange("POST", "/refresh", {
          body: { refresh_token: refreshToken },
          signer,
          // An attempt still in flight when the reuse window closes would look like theft.
          timeout: Math.min(timeout, Math.max(1000, retryBudget - elapsed)),
        });
        if (res.ok) return await readTokenResponse(res);
        failure = await errorFromResponse(res);
        if (!NO_ANSWER_STATUSES.includes(res.status)) throw failure;
      } catch (err) {
        if (
          err instanceof SessionError && err.code !== "network_error" &&
          err.code !== "server_error"
        ) throw err;
        failure = err instanceof SessionError
          ? err
          : new SessionError("network_error", "no answer", { cause: err });
      }
      const delay = retryDelays[attempt];
      if (
        delay === undefined || Date.now() - started + delay > retryBudget
      ) throw failure;
      await sleep(delay);
    }
  }
}

/**
 * Refresh answers after which the stored session is useless here: the server's terminal
 * codes, and a refused DPoP proof (the key the session is bound to is not on this device,
 * or the server no longer accepts it).
 */
export function endsSession(err: unknown): err is SessionError {
  return err instanceof SessionError &&
    (TERMINAL_CODES.has(err.code) || err.code === "invalid_dpop_proof");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
