/**
 * Where the SDK keeps the session. Any key-value store fits; methods may be sync or
 * async. Browsers default to IndexedDB, else localStorage (shared by the tabs of one
 * origin, which the cross-tab refresh relies on); Node and other runtimes default to memory.
 */
import { objectStore } from "./indexed-db.ts";

export interface StorageAdapter {
  get(
    key: string,
  ): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
  /**
   * False when the store is private to this page/process (memory), so other tabs cannot
   * share its session and cross-tab coordination is pointless. Default: shared.
   */
  readonly shared?: boolean;
}

/** Anything with the Web Storage method names: localStorage, sessionStorage, React Native's AsyncStorage. */
export interface KeyValueStore {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** Process-local storage: the session lives as long as the object. */
export function memoryStorage(
  initial?: Record<string, string>,
): StorageAdapter {
  const map = new Map<string, string>(Object.entries(initial ?? {}));
  return {
    shared: false,
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    remove: (key) => void map.delete(key),
  };
}

/** Wraps a Web Storage-shaped store (localStorage, sessionStorage, AsyncStorage). */
export function keyValueStorage(store: KeyValueStore): StorageAdapter {
  return {
    get: (key) => store.getItem(key),
    set: (key, value) => store.setItem(key, value),
    remove: (key) => store.removeItem(key),
  };
}

/**
 * IndexedDB, one object store of strings. Unlike localStorage, IndexedDB is consistent
 * across tabs: a read started after another tab's write transaction completed sees that
 * write. localStorage is not (Chromium caches it per renderer process and syncs changes
 * asynchronously), so a tab that takes the refresh lock right after another released it
 * could read the spent token from localStorage. Falls back to `fallback` if IndexedDB
 * cannot be opened (blocked, some private modes).
 */
export function indexedDbStorage(
  options: { database?: string; store?: string; fallback?: StorageAdapter } =
    {},
): StorageAdapter {
  const database = options.database ?? "sessionguard";
  const storeName = options.store ?? "kv";
  const idb = objectStore(database, storeName);
  const fallback = options.fallback ?? memoryStorage();
  // Once IndexedDB failed to open, this page stays on the fallback: a later open that
  // worked would hide what was written there meanwhile.
  let unavailable = false;
  const run = async <T>(
    mode: IDBTransactionMode,
    op: (store: IDBObjectStore) => IDBRequest,
    orElse: () => T | Promise<T>,
  ): Promise<T> => {
    if (!unavailable) {
      await idb.open().catch(() => {
        unavailable = true;
      });
    }
    if (unavailable) return await orElse();
    return await idb.run<T>(mode, op);
  };
  return {
    get: (key) =>
      run<unknown>("readonly", (s) => s.get(key), () => fallback.get(key)).then(
        (v) => typeof v === "string" ? v : null,
      ),
    set: (key, value) =>
      run<void>(
        "readwrite",
        (s) => s.put(value, key),
        () => fallback.set(key, value),
      ),
    remove: (key) =>
      run<void>("readwrite", (s) => s.delete(key), () => fallback.remove(key)),
  };
}

/** A usable localStorage (not blocked, not a server runtime's stub), or null. */
function usableLocalStorage(): KeyValueStore | null {
  try {
    const ls = (globalThis as { localStorage?: KeyValueStore }).localStorage;
    if (
      ls &&
      typeof (globalThis as { document?: unknown }).document !== "undefined"
    ) {
      // Access can throw (storage disabled, sandboxed iframe); probe once.
      const probe = "sessionguard.probe";
      ls.setItem(probe, "1");
      ls.removeItem(probe);
      return ls;
    }
  } catch {
    // unusable
  }
  return null;
}

/**
 * Browsers: IndexedDB (shared by the tabs of the origin, consistent across them), else
 * localStorage; elsewhere memory.
 */
export function defaultStorage(): StorageAdapter {
  const ls = usableLocalStorage();
  const inBrowser =
    typeof (globalThis as { document?: unknown }).document !== "undefined";
  if (inBrowser && typeof indexedDB !== "undefined") {
    return indexedDbStorage({
      fallback: ls ? keyValueStorage(ls) : memoryStorage(),
    });
  }
  return ls ? keyValueStorage(ls) : memoryStorage();
}
