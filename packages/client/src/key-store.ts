/**
 * Where device keys (DPoP, dpop-proof.ts) are kept: with the session they bind.
 * IndexedDB in browsers, where CryptoKey objects survive as they are; memory, or
 * optionally a file, in Node. One key per session; a key is deleted when its
 * session ends, so it can never serve another.
 */
import { ECDSA_P256, subtle } from "./dpop-proof.ts";
import { objectStore } from "./indexed-db.ts";

/** Where device keys are kept, by name. One key per session family. */
export interface DpopKeyStore {
  get(name: string): Promise<CryptoKeyPair | null>;
  set(name: string, keys: CryptoKeyPair): Promise<void>;
  remove(name: string): Promise<void>;
  /**
   * True when the store writes private keys out (a file), so keys must be made
   * extractable. Stores that hold CryptoKey objects (memory, IndexedDB) leave it unset.
   */
  readonly extractable?: boolean;
}

/** Keys in this process's memory; they end with it. */
export function memoryKeyStore(): DpopKeyStore {
  const keys = new Map<string, CryptoKeyPair>();
  return {
    get: (name) => Promise.resolve(keys.get(name) ?? null),
    set: (name, pair) => Promise.resolve(void keys.set(name, pair)),
    remove: (name) => Promise.resolve(void keys.delete(name)),
  };
}

/**
 * IndexedDB (browsers): the CryptoKey objects themselves are stored (structured
 * clone), so a non-extractable private key survives reloads and is shared by the
 * origin's tabs without ever existing as bytes the page could read.
 */
export function indexedDbKeyStore(
  options: { database?: string; store?: string } = {},
): DpopKeyStore {
  const idb = objectStore(
    options.database ?? "sessionguard-dpop",
    options.store ?? "keys",
  );
  return {
    async get(name) {
      const value = await idb.run<unknown>("readonly", (s) => s.get(name));
      return isKeyPair(value) ? value : null;
    },
    set: (name, keys) =>
      idb.run<void>(
        "readwrite",
        (s) =>
          s.put(
            { privateKey: keys.privateKey, publicKey: keys.publicKey },
            name,
          ),
      ),
    remove: (name) => idb.run<void>("readwrite", (s) => s.delete(name)),
  };
}

export { fileKeyStore } from "./file-key-store.ts";

const memoryStores = new WeakMap<object, DpopKeyStore>();

/**
 * The key store that lives as long as `sessionStorage` does: IndexedDB in browsers;
 * elsewhere one memory store per session storage object, so clients sharing a
 * storage share keys. Null when no fitting store exists (a session storage that
 * outlives the process, without IndexedDB): pass a key store, or go unbound.
 */
export function defaultKeyStore(
  sessionStorage: object & { shared?: boolean },
): DpopKeyStore | null {
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined";
  if (inBrowser && typeof indexedDB !== "undefined") return indexedDbKeyStore();
  // A key in memory beside a session on disk would be gone after a restart, and the session with it.
  if (sessionStorage.shared !== false) return null;
  let store = memoryStores.get(sessionStorage);
  if (!store) memoryStores.set(sessionStorage, store = memoryKeyStore());
  return store;
}

/** True when this runtime can make non-extractable P-256 keys (WebCrypto present). */
export function dpopSupported(): boolean {
  return typeof globalThis.crypto?.subtle?.generateKey === "function";
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  if (!value || typeof value !== "object") return false;
  const { privateKey, publicKey } = value as Record<string, unknown>;
  return typeof CryptoKey !== "undefined" && privateKey instanceof CryptoKey &&
    publicKey instanceof CryptoKey;
}
