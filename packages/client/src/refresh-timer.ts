/**
 * Proactive refresh: a timer that rotates the session shortly before its access token
 * expires, so requests rarely wait for a refresh. Re-armed after every change of the
 * session; never keeps a Node process alive.
 */
import type { ClientSettings } from "./client-options.ts";
import { endsSession, type Refresher } from "./refresh.ts";
import type { SessionState } from "./session-state.ts";
import { refreshDueAtMs } from "./stored-session.ts";

/** After a proactive refresh failed without an answer, try again this much later (ms). */
const PROACTIVE_RETRY_MS = 15_000;
/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** One client's refresh timer. */
export class RefreshTimer {
  readonly #settings: ClientSettings;
  readonly #state: SessionState;
  readonly #refresher: Refresher;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    settings: ClientSettings,
    state: SessionState,
    refresher: Refresher,
  ) {
    this.#settings = settings;
    this.#state = state;
    this.#refresher = refresher;
  }

  /** (Re-)arms the timer for the current session; clears it when there is none. */
  schedule(delayOverride?: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const s = this.#state.current;
    if (!this.#settings.autoRefresh || this.#stopped || !s) return;
    const delay = delayOverride ??
      Math.max(
        0,
        refreshDueAtMs(s, this.#settings.marginMs) - this.#settings.now(),
      );
    this.#timer = setTimeout(() => {
      const now = this.#state.current;
      if (!now || this.#stopped) return;
      this.#refresher.refresh(now, false).catch((err) => {
        if (endsSession(err)) return;
        if (this.#state.current) this.schedule(PROACTIVE_RETRY_MS);
      });
    }, Math.min(delay, MAX_DELAY_MS));
    // Never keep a Node process alive just for this timer.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Stops for good (the client is closed). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
