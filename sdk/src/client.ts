import {
  type Coordinator,
  localCoordinator,
  type TabMessage,
  webCoordinator,
} from "./coordination.ts";
import {
  boundKeyOf,
  defaultKeyStore,
  type DeviceKey,
  deviceKey,
  type DpopKeyStore,
  dpopSupported,
  generateDeviceKey,
} from "./dpop.ts";
import { Emitter } from "./emitter.ts";
import { errorFromResponse, SessionError, TERMINAL_CODES } from "./errors.ts";
import type { SessionEvents, SignedOutReason } from "./events.ts";
import { defaultStorage, type StorageAdapter } from "./storage.ts";
import type {
  DeviceSession,
  SecurityEvent,
  SessionInfo,
  SignOutScope,
  StoredSession,
  TokenResponse,
} from "./types.ts";

export interface SessionClientOptions {
  /** The session function's base URL, e.g. `https://<ref>.supabase.co/functions/v1/session`. */
  url: string | URL;
  /** Where the session is kept. Default: localStorage in browsers, memory elsewhere. */
  storage?: StorageAdapter;
  /** Storage key; also names the cross-tab lock and channel. Default `sessionguard.session`. */
  storageKey?: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Refresh this many seconds before the access token expires (at most a quarter of its lifetime). Default 60. */
  refreshMargin?: number;
  /** Refresh on a timer shortly before expiry, not only on demand. Default true. */
  autoRefresh?: boolean;
  /**
   * Waits between attempts when a refresh gets no answer (network error, timeout, 500/502/503/504).
   * Each retry presents the *same* refresh token, which the server answers with the identical
   * successor inside its reuse window. Default `[300, 1000, 2000]`.
   */
  retryDelays?: number[];
  /** Never start a refresh retry later than this many ms after the first attempt; keep it under the server's `SESSION_REUSE_GRACE` (10 s). Default 8000. */
  retryBudget?: number;
  /** Per-request timeout in ms. Default 5000. */
  requestTimeout?: number;
  /**
   * Cross-tab lock and hand-over. Default: Web Locks + BroadcastChannel when available and the
   * storage is shared between tabs; else an in-process lock among clients of the same storage object.
   */
  coordinator?: Coordinator;
  /** Extra headers on every request to the session function (e.g. `apikey`). */
  headers?: Record<string, string>;
  /**
   * Device binding (DPoP): bind the session to a key made on this device whose private half
   * cannot be exported, and sign every request to the session function with it, so a copy of
   * the refresh token is useless anywhere else. Keys live in IndexedDB in browsers; elsewhere
   * in memory, which needs a memory session storage (or pass `dpopKeyStore`, e.g.
   * `fileKeyStore`). The server binds only when it allows DPoP (`SESSION_DPOP`). Default false.
   */
  dpop?: boolean;
  /** Where device keys are kept when `dpop` is on. Default: see `dpop`. */
  dpopKeyStore?: DpopKeyStore;
}

/** A client for one app's sessionguard session. Create one per page (or per process). */
export interface SessionClient {
  /** Exchanges a Clerk session token for a sessionguard session and stores it. */
  start(
    clerkToken: string,
    options?: { deviceName?: string },
  ): Promise<SessionInfo>;
  /**
   * A valid access token, refreshed first when it is within the margin of expiry; `null`
   * when signed out (also after the server ended the session: `signedOut` is emitted).
   * Rejects with a SessionError (`network_error`, `server_error`, ...) only when the
   * refresh failed for a reason that may pass and the current token has already expired.
   * Fits supabase-js's `accessToken` option as is.
   */
  getAccessToken(): Promise<string | null>;
  /** Rotates now, even when the access token is fresh. Rejects with the server's code. */
  refresh(): Promise<SessionInfo>;
  /** The signed-in session (ids and expiry only, no tokens), or null. */
  getSession(): Promise<SessionInfo | null>;
  /**
   * `local` ends this session, `others` every other session of the user, `global` all.
   * For `local` and `global` the session here is cleared even when the server call fails
   * (the promise then still rejects, so the app can say the server did not confirm).
   */
  signOut(scope?: SignOutScope): Promise<void>;
  /** The user's active sessions, `current: true` on this one. */
  listSessions(): Promise<DeviceSession[]>;
  /** Revokes one of the user's sessions; revoking this one signs out here. */
  revokeSession(id: string): Promise<void>;
  /** The user's security events, newest first. */
  listEvents(): Promise<SecurityEvent[]>;
  on<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): () => void;
  off<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): void;
  /** Stops timers and cross-tab listeners. The stored session stays. */
  close(): void;
}

const DEFAULT_KEY = "sessionguard.session";
/** Stored-session format version: bump when the shape changes. */
const FORMAT = 1;
/** After a proactive refresh failed without an answer, try again this much later (ms). */
const PROACTIVE_RETRY_MS = 15_000;
/** A server clock this far from ours (ms) is corrected for in proofs' `iat`; the server allows 60 s. */
const CLOCK_SKEW_MS = 30_000;

interface Persisted extends StoredSession {
  v: typeof FORMAT;
  /** Local clock (ms) when the tokens arrived: expiry is judged from it, immune to clock skew. */
  received_at: number;
  /** Thumbprint of the device key the session is bound to (DPoP), when it is. */
  dpop_jkt?: string;
}

export function createSessionClient(
  options: SessionClientOptions,
): SessionClient {
  return new SessionClientImpl(options);
}

class SessionClientImpl implements SessionClient {
  readonly #base: string;
  readonly #storage: StorageAdapter;
  readonly #key: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #autoRefresh: boolean;
  readonly #retryDelays: readonly number[];
  readonly #retryBudget: number;
  readonly #timeout: number;
  readonly #headers: Record<string, string>;
  readonly #coordinator: Coordinator;
  readonly #lockName: string;
  readonly #id = randomId();
  readonly #events = new Emitter<SessionEvents>();
  readonly #unsubscribe: () => void;
  /** Where device keys are found; null when there is no fitting store. */
  readonly #keyStore: DpopKeyStore | null;
  /** Bind new sessions to a device key (the `dpop` option). */
  readonly #bind: boolean;

  /** null: signed out, or storage not read yet. */
  #current: Persisted | null = null;
  #loading: Promise<Persisted | null> | null = null;
  #refreshing: Promise<Persisted | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** The current session's device key, once loaded. */
  #signer: DeviceKey | null = null;
  /** The server's latest `DPoP-Nonce`. */
  #nonce: string | undefined;
  /** Server clock minus ours (ms), applied to proofs' `iat` once it exceeds {@link CLOCK_SKEW_MS}. */
  #skewMs = 0;

  constructor(options: SessionClientOptions) {
    this.#base = String(options.url).replace(/\/+$/, "");
    this.#storage = options.storage ?? defaultStorage();
    this.#key = options.storageKey ?? DEFAULT_KEY;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") {
      throw new TypeError(
        "sessionguard: no fetch available; pass options.fetch",
      );
    }
    // Call through a wrapper: browsers throw "Illegal invocation" for a detached window.fetch.
    this.#fetch = (input, init) => f(input, init);
    this.#now = options.now ?? Date.now;
    this.#marginMs = (options.refreshMargin ?? 60) * 1000;
    this.#autoRefresh = options.autoRefresh ?? true;
    this.#retryDelays = options.retryDelays ?? [300, 1000, 2000];
    this.#retryBudget = options.retryBudget ?? 8000;
    this.#timeout = options.requestTimeout ?? 5000;
    this.#headers = { ...options.headers };
    this.#lockName = `sessionguard:${this.#key}`;
    this.#bind = options.dpop ?? false;
    // Looked up even with dpop off: a session bound earlier keeps working with its key.
    this.#keyStore = options.dpopKeyStore ??
      (dpopSupported() ? defaultKeyStore(this.#storage) : null);
    if (this.#bind) {
      if (!dpopSupported()) {
        throw new TypeError(
          "sessionguard: dpop needs WebCrypto (crypto.subtle)",
        );
      }
      if (!this.#keyStore) {
        throw new TypeError(
          "sessionguard: with dpop outside a browser, pass dpopKeyStore (e.g. fileKeyStore) or use memoryStorage: " +
            "a key kept in memory beside a session kept elsewhere would be lost on restart",
        );
      }
    }
    // Tabs coordinate only through a store they share; a memory store is private to this page.
    this.#coordinator = options.coordinator ??
      (this.#storage.shared === false
        ? null
        : webCoordinator(this.#lockName)) ??
      localCoordinator(this.#lockName, this.#storage);
    this.#unsubscribe = this.#coordinator.subscribe((message) =>
      this.#onTabMessage(message)
    );
  }

  // ---- public API -------------------------------------------------------------------

  async start(
    clerkToken: string,
    options: { deviceName?: string } = {},
  ): Promise<SessionInfo> {
    if (typeof clerkToken !== "string" || clerkToken === "") {
      throw new SessionError(
        "invalid_request",
        "a Clerk session token is required",
      );
    }
    const body = options.deviceName === undefined
      ? {}
      : { device_name: options.deviceName };
    // One key per session: a new sign-in never reuses the key of an earlier one.
    const key = this.#bind && this.#keyStore
      ? await deviceKey(await generateDeviceKey(this.#keyStore.extractable))
      : null;
    // Not retried on network errors: /start is not idempotent, a retry could open a second
    // session. (A use_dpop_nonce answer started nothing, so that one is retried.)
    const res = await this.#exchange("POST", "/start", {
      token: clerkToken,
      body,
      signer: key,
    });
    if (!res.ok) throw await errorFromResponse(res);
    const session = this.#persisted(await readTokenResponse(res));
    const previous = this.#current ?? (await this.#read());
    if (key && session.dpop_jkt === key.jkt) {
      // Kept before the session is, so a stored session never names a key that is not there.
      // Should the key store fail, the key still serves this page until it is closed.
      await this.#keyStore!.set(this.#keyName(key.jkt), key.keys).catch(
        () => {},
      );
      this.#signer = key;
    }
    await this.#save(session);
    if (previous?.dpop_jkt && previous.dpop_jkt !== session.dpop_jkt) {
      await this.#forgetKey(previous.dpop_jkt);
    }
    this.#coordinator.publish({ type: "signedIn", from: this.#id, session });
    this.#events.emit("signedIn", { session: info(session), source: "this" });
    return info(session);
  }

  async getAccessToken(): Promise<string | null> {
    const current = await this.#load();
    if (!current) return null;
    if (!this.#needsRefresh(current)) return current.access_token;
    try {
      const fresh = await this.#refresh(current, false);
      return fresh?.access_token ?? null;
    } catch (err) {
      if (endsSession(err)) return null;
      // A transient failure inside the margin: the token we hold is still good.
      if (this.#now() < this.#expiresAtMs(current)) return current.access_token;
      throw err;
    }
  }

  async refresh(): Promise<SessionInfo> {
    const current = await this.#load();
    if (!current) {
      throw new SessionError("not_signed_in", "no session to refresh");
    }
    const fresh = await this.#refresh(current, true);
    if (!fresh) {
      throw new SessionError("not_signed_in", "signed out while refreshing");
    }
    return info(fresh);
  }

  async getSession(): Promise<SessionInfo | null> {
    const current = await this.#load();
    return current ? info(current) : null;
  }

  async signOut(scope: SignOutScope = "local"): Promise<void> {
    if (!(await this.#load())) {
      if (scope === "others") {
        throw new SessionError("not_signed_in", "no session");
      }
      return;
    }
    let failure: unknown;
    try {
      await this.#authed("POST", "/signout", { scope });
    } catch (err) {
      failure = err;
    }
    if (scope !== "others" && this.#current) await this.#end("signed_out");
    // Already ended by the server: for local/global that is what the caller wanted.
    if (
      failure instanceof SessionError && TERMINAL_CODES.has(failure.code) &&
      scope !== "others"
    ) return;
    if (failure) throw failure;
  }

  async listSessions(): Promise<DeviceSession[]> {
    const body = await readJson(await this.#authed("GET", "/sessions"));
    const sessions = (body as { sessions?: unknown }).sessions;
    if (!Array.isArray(sessions)) throw invalidResponse("sessions");
    return sessions as DeviceSession[];
  }

  async revokeSession(id: string): Promise<void> {
    const current = await this.#load();
    await this.#authed("DELETE", `/sessions/${encodeURIComponent(id)}`);
    if (current && current.session_id === id && this.#current) {
      await this.#end("signed_out");
    }
  }

  async listEvents(): Promise<SecurityEvent[]> {
    const body = await readJson(await this.#authed("GET", "/events"));
    const events = (body as { events?: unknown }).events;
    if (!Array.isArray(events)) throw invalidResponse("events");
    return events as SecurityEvent[];
  }

  on<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): void {
    this.#events.off(event, listener);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unsubscribe();
    this.#coordinator.close();
    this.#events.clear();
  }

  // ---- refresh ----------------------------------------------------------------------

  /**
   * Single-flight: every caller in this client shares one refresh. Across tabs (or clients
   * sharing storage) the lock serialises refreshes, and re-reading storage under the lock
   * lets a waiter adopt what the lock holder rotated instead of presenting a spent token.
   */
  #refresh(seen: Persisted, force: boolean): Promise<Persisted | null> {
    if (this.#refreshing) return this.#refreshing;
    const flight = this.#coordinator
      .withLock(this.#lockName, () => this.#refreshLocked(seen, force))
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
    const latest = await this.#read();
    if (!latest) {
      // Another tab signed out (its message may still be on the way).
      if (this.#current) this.#ended("signed_out", "other-tab");
      return null;
    }
    if (latest.refresh_token !== seen.refresh_token) {
      // Someone else rotated while we waited: their tokens are newer than the ones we saw.
      this.#adopt(latest, "other-tab");
      return latest;
    }
    if (!force && !this.#needsRefresh(latest)) {
      this.#adopt(latest, "other-tab");
      return latest;
    }
    let tokens: TokenResponse;
    try {
      const signer = await this.#signerFor(latest);
      if (latest.dpop_jkt && !signer) {
        throw new SessionError(
          "invalid_dpop_proof",
          "this device no longer holds the key the session is bound to",
        );
      }
      tokens = await this.#postRefresh(latest.refresh_token, signer);
    } catch (err) {
      if (endsSession(err)) await this.#end(signedOutReason(err), err);
      throw err;
    }
    const fresh = this.#persisted(tokens);
    // Written before the lock is released, so the next holder reads the successor.
    await this.#storage.set(this.#key, JSON.stringify(fresh));
    this.#current = fresh;
    this.#schedule();
    this.#coordinator.publish({
      type: "tokens",
      from: this.#id,
      session: fresh,
    });
    this.#events.emit("tokensRefreshed", {
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
    const started = Date.now();
    for (let attempt = 0;; attempt++) {
      const elapsed = Date.now() - started;
      let failure: SessionError;
      try {
        // A fresh proof per attempt: the server remembers every proof id it has seen.
        const res = await this.#exchange("POST", "/refresh", {
          body: { refresh_token: refreshToken },
          signer,
          // An attempt still in flight when the reuse window closes would look like theft.
          timeout: Math.min(
            this.#timeout,
            Math.max(1000, this.#retryBudget - elapsed),
          ),
        });
        if (res.ok) return await readTokenResponse(res);
        failure = await errorFromResponse(res);
        if (![500, 502, 503, 504].includes(res.status)) throw failure;
      } catch (err) {
        if (
          err instanceof SessionError && err.code !== "network_error" &&
          err.code !== "server_error"
        ) throw err;
        failure = err instanceof SessionError
          ? err
          : new SessionError("network_error", "no answer", { cause: err });
      }
      const delay = this.#retryDelays[attempt];
      if (
        delay === undefined || Date.now() - started + delay > this.#retryBudget
      ) throw failure;
      await sleep(delay);
    }
  }

  #needsRefresh(s: Persisted): boolean {
    const lifetime = s.expires_in * 1000;
    const margin = Math.min(this.#marginMs, lifetime / 4);
    return this.#now() >= this.#expiresAtMs(s) - margin;
  }

  #expiresAtMs(s: Persisted): number {
    return s.received_at + s.expires_in * 1000;
  }

  /** Proactive refresh shortly before expiry, so requests rarely wait for one. */
  #schedule(delayOverride?: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const s = this.#current;
    if (!this.#autoRefresh || this.#closed || !s) return;
    const lifetime = s.expires_in * 1000;
    const margin = Math.min(this.#marginMs, lifetime / 4);
    const delay = delayOverride ??
      Math.max(0, this.#expiresAtMs(s) - margin - this.#now());
    this.#timer = setTimeout(() => {
      const now = this.#current;
      if (!now || this.#closed) return;
      this.#refresh(now, false).catch((err) => {
        if (endsSession(err)) return;
        if (this.#current) this.#schedule(PROACTIVE_RETRY_MS);
      });
    }, Math.min(delay, 2 ** 31 - 1));
    // Never keep a Node process alive just for this timer.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  // ---- authenticated requests --------------------------------------------------------

  async #authed(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Response> {
    for (let attempt = 0;; attempt++) {
      const token = await this.getAccessToken();
      if (!token) throw new SessionError("not_signed_in", "no session");
      const session = this.#current;
      const signer = session?.dpop_jkt ? await this.#signerFor(session) : null;
      const res = await this.#exchange(method, path, {
        token,
        body,
        signer,
        bound: signer !== null,
      });
      if (res.ok) return res;
      const err = await errorFromResponse(res);
      if (err.code === "invalid_token" && attempt === 0 && this.#current) {
        // The access token was refused though we think it fresh (signing key rotated,
        // clock trouble): rotate once and retry; a dead session then surfaces from /refresh.
        try {
          await this.#refresh(this.#current, true);
        } catch {
          throw err;
        }
        continue;
      }
      if (TERMINAL_CODES.has(err.code) && this.#current) {
        await this.#end(err.code as SignedOutReason, err);
      }
      throw err;
    }
  }

  async #send(
    method: string,
    path: string,
    { token, body, timeout, dpop, scheme = "Bearer" }: {
      token?: string;
      body?: unknown;
      timeout?: number;
      /** A DPoP proof for this request. */
      dpop?: string;
      /** `DPoP` for an access token bound to the key that signed `dpop` (RFC 9449 §7.1). */
      scheme?: "Bearer" | "DPoP";
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.#headers };
    if (token) headers["authorization"] = `${scheme} ${token}`;
    if (dpop) headers["dpop"] = dpop;
    if (body !== undefined) headers["content-type"] = "application/json";
    const ms = timeout ?? this.#timeout;
    const signal = typeof AbortSignal.timeout === "function"
      ? AbortSignal.timeout(ms)
      : undefined;
    try {
      return await this.#fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw new SessionError("network_error", `${method} ${path}: no answer`, {
        cause: err,
      });
    }
  }

  /**
   * {@link #send} with a DPoP proof from `signer` (when given), signed afresh for each try.
   * Retries once when the server asks for its nonce (`use_dpop_nonce`), and once when it
   * refused the proof while its clock (the `Date` header) is far from ours: both refusals
   * come before the server looks at the request, so nothing was spent.
   */
  async #exchange(
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      timeout?: number;
      signer?: DeviceKey | null;
      /** The access token in `token` is bound to `signer`: proofs carry its hash. */
      bound?: boolean;
    },
  ): Promise<Response> {
    const { signer, bound, ...rest } = options;
    for (let attempt = 0;; attempt++) {
      const dpop = signer
        ? await signer.proof(method, this.#base + path, {
          accessToken: bound ? rest.token : undefined,
          nonce: this.#nonce,
          now: Date.now() + this.#skewMs,
        })
        : undefined;
      const res = await this.#send(method, path, {
        ...rest,
        dpop,
        scheme: bound && signer ? "DPoP" : "Bearer",
      });
      const nonce = res.headers.get("dpop-nonce");
      if (nonce) this.#nonce = nonce;
      if (!signer || attempt > 0 || res.status !== 401) return res;
      const challenge = res.headers.get("www-authenticate") ?? "";
      if (challenge.includes('error="use_dpop_nonce"') && nonce) continue;
      if (
        challenge.includes('error="invalid_dpop_proof"') &&
        this.#correctSkew(res)
      ) continue;
      return res;
    }
  }

  /** Adopts the server's clock offset from its `Date` header; true when it changed notably. */
  #correctSkew(res: Response): boolean {
    const date = Date.parse(res.headers.get("date") ?? "");
    if (Number.isNaN(date)) return false;
    const skew = date - Date.now();
    if (Math.abs(skew - this.#skewMs) < CLOCK_SKEW_MS) return false;
    this.#skewMs = Math.abs(skew) < CLOCK_SKEW_MS ? 0 : skew;
    return true;
  }

  // ---- device key ---------------------------------------------------------------------

  #keyName(jkt: string): string {
    return `${this.#key}:${jkt}`;
  }

  /** The device key a bound session needs, from memory or the key store; null when missing. */
  async #signerFor(session: Persisted): Promise<DeviceKey | null> {
    const jkt = session.dpop_jkt;
    if (!jkt || !this.#keyStore) return null;
    if (this.#signer?.jkt === jkt) return this.#signer;
    const keys = await this.#keyStore.get(this.#keyName(jkt)).catch(() => null);
    if (!keys) return null;
    const key = await deviceKey(keys);
    if (key.jkt !== jkt) return null;
    this.#signer = key;
    return key;
  }

  /** Deletes a session's device key: it can never serve another session. */
  async #forgetKey(jkt: string): Promise<void> {
    if (this.#signer?.jkt === jkt) this.#signer = null;
    await this.#keyStore?.remove(this.#keyName(jkt)).catch(() => {});
  }

  // ---- state ------------------------------------------------------------------------

  #load(): Promise<Persisted | null> {
    if (this.#current) return Promise.resolve(this.#current);
    // Signed out (or not read yet): look again, another client may have signed in.
    this.#loading ??= this.#read().then((s) => {
      this.#loading = null;
      if (!this.#current) {
        this.#current = s;
        this.#schedule();
      }
      return this.#current;
    });
    return this.#loading;
  }

  async #read(): Promise<Persisted | null> {
    const raw = await this.#storage.get(this.#key);
    if (!raw) return null;
    try {
      const value = JSON.parse(raw) as Persisted;
      return isPersisted(value) ? value : null;
    } catch {
      return null;
    }
  }

  async #save(session: Persisted): Promise<void> {
    await this.#storage.set(this.#key, JSON.stringify(session));
    this.#current = session;
    this.#schedule();
  }

  #adopt(session: Persisted, source: "this" | "other-tab"): void {
    const changed = this.#current?.refresh_token !== session.refresh_token;
    this.#current = session;
    this.#schedule();
    if (changed) {
      this.#events.emit("tokensRefreshed", { session: info(session), source });
    }
  }

  /** Clears the session here and in the other tabs. */
  async #end(reason: SignedOutReason, error?: SessionError): Promise<void> {
    const ended = this.#current;
    await this.#storage.remove(this.#key);
    if (ended?.dpop_jkt) await this.#forgetKey(ended.dpop_jkt);
    this.#coordinator.publish({ type: "signedOut", from: this.#id, reason });
    this.#ended(reason, "this", error);
  }

  #ended(
    reason: SignedOutReason,
    source: "this" | "other-tab",
    error?: SessionError,
  ): void {
    const had = this.#current;
    this.#current = null;
    this.#signer = null;
    clearTimeout(this.#timer);
    if (!had) return;
    if (reason === "refresh_token_reused") {
      this.#events.emit("theftDetected", {
        error: error ??
          new SessionError("refresh_token_reused", "refresh token reused", {
            status: 401,
          }),
        source,
      });
    }
    this.#events.emit("signedOut", { reason, source });
  }

  #onTabMessage(message: TabMessage): void {
    if (this.#closed || message.from === this.#id) return;
    if (message.type === "signedOut") {
      this.#ended(message.reason, "other-tab");
      return;
    }
    if (!isPersisted(message.session)) return;
    if (message.type === "signedIn") {
      this.#current = message.session;
      this.#schedule();
      this.#events.emit("signedIn", {
        session: info(message.session),
        source: "other-tab",
      });
    } else {
      this.#adopt(message.session, "other-tab");
    }
  }

  #persisted(t: TokenResponse): Persisted {
    const jkt = boundKeyOf(t.access_token);
    return {
      ...(jkt ? { dpop_jkt: jkt } : {}),
      v: FORMAT,
      access_token: t.access_token,
      expires_at: t.expires_at,
      expires_in: t.expires_in,
      refresh_token: t.refresh_token,
      session_id: t.session.id,
      session_expires_at: t.session.expires_at,
      user_id: t.user_id,
      received_at: this.#now(),
    };
  }
}

/**
 * Refresh answers after which the stored session is useless here: the server's terminal
 * codes, and a refused DPoP proof (the key the session is bound to is not on this device,
 * or the server no longer accepts it).
 */
function endsSession(err: unknown): err is SessionError {
  return err instanceof SessionError &&
    (TERMINAL_CODES.has(err.code) || err.code === "invalid_dpop_proof");
}

function signedOutReason(err: SessionError): SignedOutReason {
  return err.code as SignedOutReason;
}

function info(s: StoredSession): SessionInfo {
  return {
    session_id: s.session_id,
    user_id: s.user_id,
    expires_at: s.expires_at,
    session_expires_at: s.session_expires_at,
  };
}

function isPersisted(value: unknown): value is Persisted {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return v.v === FORMAT && typeof v.access_token === "string" &&
    typeof v.refresh_token === "string" &&
    typeof v.session_id === "string" && typeof v.user_id === "string" &&
    typeof v.expires_in === "number" &&
    typeof v.expires_at === "number" && typeof v.received_at === "number" &&
    typeof v.session_expires_at === "number";
}

async function readJson(res: Response): Promise<unknown> {
  try {
    const body: unknown = await res.json();
    if (body && typeof body === "object") return body;
  } catch {
    // fall through
  }
  throw invalidResponse("JSON object");
}

async function readTokenResponse(res: Response): Promise<TokenResponse> {
  const t = (await readJson(res)) as Partial<TokenResponse>;
  const ok = typeof t.access_token === "string" &&
    typeof t.refresh_token === "string" &&
    typeof t.expires_in === "number" && typeof t.expires_at === "number" &&
    typeof t.user_id === "string" &&
    !!t.session && typeof t.session.id === "string" &&
    typeof t.session.expires_at === "number";
  if (!ok) throw invalidResponse("token response");
  return t as TokenResponse;
}

function invalidResponse(what: string): SessionError {
  return new SessionError(
    "invalid_response",
    `the server's answer is not a ${what}`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID?.() ??
    `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
