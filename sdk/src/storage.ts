/**
 * Where the SDK keeps the session. Any key-value store fits; methods may be sync or
 * async. Browsers default to localStorage (shared by the tabs of one origin, which the
 * cross-tab refresh relies on); Node and other runtimes default to memory.
 */
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

/** localStorage when the runtime has a usable one (not blocked, not Node's stub), else memory. */
export function defaultStorage(): StorageAdapter {
  try {
    const ls = (globalThis as { localStorage?: KeyValueStore }).localStorage;
    if (
      ls &&
      typeof (globalThis as { document?: unknown }).document !== "undefined"
    ) {
      // Reading can throw (storage disabled, sandboxed iframe); probe once.
      const probe = "sessionguard.probe";
      ls.setItem(probe, "1");
      ls.removeItem(probe);
      return keyValueStorage(ls);
    }
  } catch {
    // fall through to memory
  }
  return memoryStorage();
}
