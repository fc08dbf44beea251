/**
 * The client's session: the one held in memory, the copy in storage, and the other
 * tabs' view of it. Every change goes through here, so storage, the other tabs
 * (coordination.ts) and the app's listeners (events.ts) hear of it in the same order:
 * stored first, then published to the tabs, then emitted.
 */
import type { ClientSettings } from "./client-options.ts";
import type { TabMessage } from "./coordination.ts";
import type { DeviceKeys } from "./device-keys.ts";
import { Emitter } from "./emitter.ts";
import { SessionError } from "./errors.ts";
import type { SessionEvents, SignedOutReason } from "./events.ts";
import { info, isPersisted, type Persisted } from "./stored-session.ts";

/** Where a change came from, as events report it. */
export type Source = "this" | "other-tab";

/** One client's session state. */
export class SessionState {
  /** The app's listeners. */
  readonly events = new Emitter<SessionEvents>();
  /** This client among the tabs: its own messages are not echoed back to it. */
  readonly id = randomId();
  readonly #settings: ClientSettings;
  readonly #keys: DeviceKeys;
  /** Called after every change of the current session (the refresh timer re-arms). */
  readonly #changed: () => void;
  readonly #unsubscribe: () => void;
  /** null: signed out, or storage not read yet. */
  #current: Persisted | null = null;
  #loading: Promise<Persisted | null> | null = null;
  #closed = false;

  constructor(settings: ClientSettings, keys: DeviceKeys, changed: () => void) {
    this.#settings = settings;
    this.#keys = keys;
    this.#changed = changed;
    this.#unsubscribe = settings.coordinator.subscribe((message) =>
      this.#onTabMessage(message)
    );
  }

  /** The session in memory; null when signed out or not loaded yet. */
  get current(): Persisted | null {
    return this.#current;
  }

  /** The current session, read from storage when none is in memory. */
  load(): Promise<Persisted | null> {
    if (this.#current) return Promise.resolve(this.#current);
    // Signed out (or not read yet): look again, another client may have signed in.
    this.#loading ??= this.read().then((s) => {
      this.#loading = null;
      if (!this.#current) {
        this.#current = s;
        this.#changed();
      }
      return this.#current;
    });
    return this.#loading;
  }

  /** The session in storage, or null (none, or not one of this format). */
  async read(): Promise<Persisted | null> {
    const raw = await this.#settings.storage.get(this.#settings.storageKey);
    if (!raw) return null;
    try {
      const value = JSON.parse(raw) as Persisted;
      return isPersisted(value) ? value : null;
    } catch {
      return null;
    }
  }

  /** Stores `session` and makes it current (nothing published or emitted). */
  async save(session: Persisted): Promise<void> {
    await this.#settings.storage.set(
      this.#settings.storageKey,
      JSON.stringify(session),
    );
    this.#current = session;
    this.#changed();
  }

  /** Tells the other tabs. */
  publish(message: TabMessage): void {
    this.#settings.coordinator.publish(message);
  }

  /** Makes a session someone else stored current; `tokensRefreshed` when its tokens are new here. */
  adopt(session: Persisted, source: Source): void {
    const changed = this.#current?.refresh_token !== session.refresh_token;
    this.#current = session;
    this.#changed();
    if (changed) {
      this.events.emit("tokensRefreshed", { session: info(session), source });
    }
  }

  /**
   * Runs `fn` under the cross-tab refresh lock. Sign-in and sign-out write storage under
   * it: a refresh finishing in another tab then lands before the write, never after it,
   * so it cannot undo a sign-out or put back the session a sign-in replaced. Should the
   * lock not be had (a frozen tab holding it past the wait), `fn` runs anyway: a
   * sign-out must happen.
   */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    let ran = false;
    try {
      return await this.#settings.coordinator.withLock(
        this.#settings.lockName,
        () => {
          ran = true;
          return fn();
        },
      );
    } catch (err) {
      if (ran) throw err;
      return await fn();
    }
  }

  /** Clears the session here and in the other tabs; takes the cross-tab lock. */
  async end(reason: SignedOutReason, error?: SessionError): Promise<void> {
    const target = this.#current;
    await this.locked(() => this.endLocked(reason, error, target));
  }

  /**
   * `end` for a caller that holds the lock already (a refresh). `target` is the session
   * being ended (default: the current one); if storage holds another one by now (a tab
   * signed in meanwhile), storage is left to it.
   */
  async endLocked(
    reason: SignedOutReason,
    error?: SessionError,
    target: Persisted | null = this.#current,
  ): Promise<void> {
    const stored = await this.read();
    if (stored && target && stored.session_id !== target.session_id) {
      if (this.#current?.session_id === target.session_id) {
        this.ended(reason, "this", error);
      }
      return;
    }
    await this.#settings.storage.remove(this.#settings.storageKey);
    if (target?.dpop_jkt) await this.#keys.forget(target.dpop_jkt);
    this.publish({ type: "signedOut", from: this.id, reason });
    this.ended(reason, "this", error);
  }

  /** Forgets the session here (storage is someone else's concern) and tells the app. */
  ended(reason: SignedOutReason, source: Source, error?: SessionError): void {
    const had = this.#current;
    this.#current = null;
    this.#keys.release();
    this.#changed();
    if (!had) return;
    if (reason === "refresh_token_reused") {
      this.events.emit("theftDetected", {
        error: error ??
          new SessionError("refresh_token_reused", "refresh token reused", {
            status: 401,
          }),
        source,
      });
    }
    this.events.emit("signedOut", { reason, source });
  }

  /** Stops listening to the other tabs and drops the app's listeners. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#settings.coordinator.close();
    this.events.clear();
  }

  #onTabMessage(message: TabMessage): void {
    if (this.#closed || message.from === this.id) return;
    if (message.type === "signedOut") {
      this.ended(message.reason, "other-tab");
      return;
    }
    if (!isPersisted(message.session)) return;
    if (message.type === "signedIn") {
      this.#current = message.session;
      this.#changed();
      this.events.emit("signedIn", {
        session: info(message.session),
        source: "other-tab",
      });
    } else if (this.#current?.session_id === message.session.session_id) {
      // New tokens of the session held here. Never of another or of none: a rotation
      // handed over late must not bring back a session signed out or replaced here.
      this.adopt(message.session, "other-tab");
    }
  }
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID?.() ??
    `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
