/**
 * The client's options: what an app may pass to `createSessionClient`, and the one
 * place that checks them and fills in defaults. The rest of the client reads the
 * frozen {@link ClientSettings}, never the raw options.
 */
import {
  type Coordinator,
  localCoordinator,
  webCoordinator,
} from "./coordination.ts";
import { defaultKeyStore, type DpopKeyStore, dpopSupported } from "./key-store.ts";
import { defaultStorage, type StorageAdapter } from "./storage.ts";

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
   * `fileKeyStore`). The server binds only when it allows DPoP (`SESSION_DPOP`).
   *
   * Default: bind wherever the platform allows (WebCrypto and a fitting key store), else
   * go unbound; `client.deviceBinding` says which, and why. `true` insists (a TypeError
   * where it cannot bind); `false` never binds.
   */
  dpop?: boolean;
  /** Where device keys are kept when `dpop` is on. Default: see `dpop`. */
  dpopKeyStore?: DpopKeyStore;
}

/** The options checked, defaulted and frozen: what every part of the client reads. */
export interface ClientSettings {
  /** The session function's base URL, without a trailing slash. */
  readonly base: string;
  readonly storage: StorageAdapter;
  /** The storage key of the session; device keys are stored under `<key>:<thumbprint>`. */
  readonly storageKey: string;
  /** The cross-tab lock's name (also the channel's). */
  readonly lockName: string;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly marginMs: number;
  readonly autoRefresh: boolean;
  readonly retryDelays: readonly number[];
  readonly retryBudget: number;
  readonly timeout: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Whether new sessions are bound to a device key (the `dpop` option and the platform). */
  readonly binding: DeviceBinding;
  /** Where device keys are found; null when there is no fitting store. */
  readonly keyStore: DpopKeyStore | null;
  readonly coordinator: Coordinator;
}

/**
 * Whether this client binds new sessions to a device key (DPoP), and if not, why:
 * `disabled` (`dpop: false`), `unsupported` (no WebCrypto), `no_key_store` (the session
 * storage outlives the process and no key store that does was given), `key_store_failed`
 * (the key store refused the key at sign-in: IndexedDB blocked, say).
 */
export type DeviceBinding =
  | { readonly bind: true }
  | {
    readonly bind: false;
    readonly reason:
      | "disabled"
      | "unsupported"
      | "no_key_store"
      | "key_store_failed";
  };

const DEFAULT_KEY = "sessionguard.session";

/** Checks `options` and fills in the defaults; a misuse throws a TypeError naming it. */
export function clientSettings(options: SessionClientOptions): ClientSettings {
  const base = String(options.url).replace(/\/+$/, "");
  const storage = options.storage ?? defaultStorage();
  const storageKey = options.storageKey ?? DEFAULT_KEY;
  const f = options.fetch ?? globalThis.fetch;
  if (typeof f !== "function") {
    throw new TypeError(
      "sessionguard: no fetch available; pass options.fetch",
    );
  }
  const lockName = `sessionguard:${storageKey}`;
  // Looked up even with dpop off: a session bound earlier keeps working with its key.
  const keyStore = options.dpopKeyStore ??
    (dpopSupported() ? defaultKeyStore(storage) : null);
  const binding: DeviceBinding = options.dpop === false
    ? { bind: false, reason: "disabled" }
    : !dpopSupported()
    ? { bind: false, reason: "unsupported" }
    : !keyStore
    ? { bind: false, reason: "no_key_store" }
    : { bind: true };
  if (options.dpop === true) {
    if (!dpopSupported()) {
      throw new TypeError(
        "sessionguard: dpop needs WebCrypto (crypto.subtle)",
      );
    }
    if (!keyStore) {
      throw new TypeError(
        "sessionguard: with dpop outside a browser, pass dpopKeyStore (e.g. fileKeyStore) or use memoryStorage: " +
          "a key kept in memory beside a session kept elsewhere would be lost on restart",
      );
    }
  }
  return Object.freeze({
    base,
    storage,
    storageKey,
    lockName,
    // Call through a wrapper: browsers throw "Illegal invocation" for a detached window.fetch.
    fetch: (input: RequestInfo | URL, init?: RequestInit) => f(input, init),
    now: options.now ?? Date.now,
    marginMs: (options.refreshMargin ?? 60) * 1000,
    autoRefresh: options.autoRefresh ?? true,
    retryDelays: options.retryDelays ?? [300, 1000, 2000],
    retryBudget: options.retryBudget ?? 8000,
    timeout: options.requestTimeout ?? 5000,
    headers: { ...options.headers },
    binding: Object.freeze(binding),
    keyStore,
    // Made last, once nothing can throw: a web coordinator opens a BroadcastChannel.
    // Tabs coordinate only through a store they share; a memory store is private to this page.
    coordinator: options.coordinator ??
      (storage.shared === false ? null : webCoordinator(lockName)) ??
      localCoordinator(lockName, storage),
  });
}
