/**
 * Device binding (DPoP, RFC 9449), client side: an ECDSA P-256 key made with
 * WebCrypto whose private half cannot be exported, kept where the session is
 * kept (IndexedDB in browsers: CryptoKey objects survive there as they are;
 * memory, or optionally a file, in Node), and a proof signed with it for every
 * request to the session function.
 *
 * The session function binds the session to the key at sign-in; from then on a
 * refresh token is useless without a proof from this key, so a copy of the
 * token taken off the device (a leaked backup, a log, malware reading storage)
 * cannot be refreshed elsewhere. Code running in the page can still ask the key
 * to sign while the page is open: binding keeps the key on the device, it does
 * not keep a compromised page honest.
 */

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

/** A device key ready to sign proofs. */
export interface DeviceKey {
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url: what the session is bound to. */
  readonly jkt: string;
  readonly keys: CryptoKeyPair;
  /**
   * A proof for one request: `method` and `url` (query and fragment dropped) as sent,
   * `accessToken` when the request carries one (its hash goes in `ath`), the server's
   * latest `nonce`, and `now` in ms (default `Date.now()`).
   */
  proof(
    method: string,
    url: string,
    options?: { accessToken?: string; nonce?: string; now?: number },
  ): Promise<string>;
}

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const encoder = new TextEncoder();

/** A fresh P-256 key pair; the private key is non-extractable unless `extractable`. */
export async function generateDeviceKey(
  extractable = false,
): Promise<CryptoKeyPair> {
  return await subtle().generateKey(ECDSA_P256, extractable, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/** Wraps a key pair for signing; its public half is exported (public keys always are). */
export async function deviceKey(keys: CryptoKeyPair): Promise<DeviceKey> {
  const exported = await subtle().exportKey("jwk", keys.publicKey);
  if (
    exported.kty !== "EC" || exported.crv !== "P-256" || !exported.x ||
    !exported.y
  ) {
    throw new TypeError(
      "sessionguard: a DPoP key must be an ECDSA P-256 key pair",
    );
  }
  // Only the required members, in this order: RFC 7638's canonical form is also a fine header jwk.
  const jwk = { crv: "P-256", kty: "EC", x: exported.x, y: exported.y };
  const jkt = base64url(
    new Uint8Array(
      await subtle().digest("SHA-256", encoder.encode(JSON.stringify(jwk))),
    ),
  );
  const header = base64url(
    encoder.encode(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk })),
  );
  return {
    jkt,
    keys,
    async proof(method, url, options = {}) {
      const target = new URL(url);
      const claims: Record<string, unknown> = {
        jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
        htm: method.toUpperCase(),
        htu: `${target.origin}${target.pathname}`,
        iat: Math.floor((options.now ?? Date.now()) / 1000),
      };
      if (options.accessToken !== undefined) {
        claims.ath = base64url(
          new Uint8Array(
            await subtle().digest(
              "SHA-256",
              encoder.encode(options.accessToken),
            ),
          ),
        );
      }
      if (options.nonce !== undefined) claims.nonce = options.nonce;
      const input = `${header}.${
        base64url(encoder.encode(JSON.stringify(claims)))
      }`;
      // WebCrypto's ECDSA signature is r || s, exactly JWS's ES256 encoding.
      const signature = await subtle().sign(
        { name: "ECDSA", hash: "SHA-256" },
        keys.privateKey,
        encoder.encode(input),
      );
      return `${input}.${base64url(new Uint8Array(signature))}`;
    },
  };
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
  const database = options.database ?? "sessionguard-dpop";
  const storeName = options.store ?? "keys";
  let opened: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> =>
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(database, 1);
      request.onupgradeneeded = () =>
        request.result.createObjectStore(storeName);
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => {
          db.close();
          opened = null;
        };
        db.onclose = () => {
          opened = null;
        };
        resolve(db);
      };
      request.onerror = () =>
        reject(request.error ?? new Error("IndexedDB cannot be opened"));
      request.onblocked = () => reject(new Error("IndexedDB is blocked"));
    }).catch((error) => {
      opened = null;
      throw error;
    });
  const run = async <T>(
    mode: IDBTransactionMode,
    op: (store: IDBObjectStore) => IDBRequest,
  ): Promise<T> => {
    const db = await open();
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(storeName, mode, { durability: "strict" });
      const request = op(tx.objectStore(storeName));
      tx.oncomplete = () => resolve(request.result as T);
      tx.onerror = tx.onabort = () =>
        reject(tx.error ?? new Error("IndexedDB transaction failed"));
    });
  };
  return {
    async get(name) {
      const value = await run<unknown>("readonly", (s) => s.get(name));
      return isKeyPair(value) ? value : null;
    },
    set: (name, keys) =>
      run<void>(
        "readwrite",
        (s) =>
          s.put(
            { privateKey: keys.privateKey, publicKey: keys.publicKey },
            name,
          ),
      ),
    remove: (name) => run<void>("readwrite", (s) => s.delete(name)),
  };
}

/**
 * A JSON file per key in `directory` (Node), written with mode 0600, for servers
 * and CLIs whose session outlives the process. The private key is then
 * extractable and lies on disk: protect the directory like the session itself.
 */
export function fileKeyStore(directory: string): DpopKeyStore {
  const fileOf = (name: string) =>
    `${directory.replace(/\/+$/, "")}/${encodeURIComponent(name)}.jwk.json`;
  // A specifier in a variable: bundlers and the browser never try to load node: modules.
  const specifier = "node:fs/promises";
  const fs = (): Promise<NodeFsPromises> => import(specifier);
  return {
    extractable: true,
    async get(name) {
      let text: string;
      try {
        text = await (await fs()).readFile(fileOf(name), "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return null;
        throw error;
      }
      const { privateJwk, publicJwk } = JSON.parse(text) as {
        privateJwk: JsonWebKey;
        publicJwk: JsonWebKey;
      };
      return {
        privateKey: await subtle().importKey(
          "jwk",
          privateJwk,
          ECDSA_P256,
          true,
          ["sign"],
        ),
        publicKey: await subtle().importKey(
          "jwk",
          publicJwk,
          ECDSA_P256,
          true,
          ["verify"],
        ),
      };
    },
    async set(name, keys) {
      const { mkdir, writeFile, rename } = await fs();
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const text = JSON.stringify({
        privateJwk: await subtle().exportKey("jwk", keys.privateKey),
        publicJwk: await subtle().exportKey("jwk", keys.publicKey),
      });
      const temporary = `${fileOf(name)}.${Date.now()}.tmp`;
      await writeFile(temporary, text, { mode: 0o600 });
      await rename(temporary, fileOf(name));
    },
    async remove(name) {
      await (await fs()).rm(fileOf(name), { force: true });
    },
  };
}

/** The few node:fs/promises functions used (the SDK does not depend on Node's types). */
interface NodeFsPromises {
  readFile(path: string, encoding: "utf8"): Promise<string>;
  writeFile(
    path: string,
    data: string,
    options: { mode: number },
  ): Promise<void>;
  mkdir(
    path: string,
    options: { recursive: true; mode: number },
  ): Promise<unknown>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

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
  const inBrowser =
    typeof (globalThis as { document?: unknown }).document !== "undefined";
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

/** The `cnf.jkt` claim of an access token (a JWT), or null. Nothing is verified: the server did that. */
export function boundKeyOf(accessToken: string): string | null {
  try {
    const payload = accessToken.split(".")[1] ?? "";
    const json = atob(
      payload.replaceAll("-", "+").replaceAll("_", "/") +
        "===".slice((payload.length + 3) % 4),
    );
    const jkt = (JSON.parse(json) as { cnf?: { jkt?: unknown } }).cnf?.jkt;
    return typeof jkt === "string" ? jkt : null;
  } catch {
    return null;
  }
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  if (!value || typeof value !== "object") return false;
  const { privateKey, publicKey } = value as Record<string, unknown>;
  return typeof CryptoKey !== "undefined" && privateKey instanceof CryptoKey &&
    publicKey instanceof CryptoKey;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new TypeError("sessionguard: DPoP needs WebCrypto (crypto.subtle)");
  }
  return s;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}
