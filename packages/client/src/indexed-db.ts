/**
 * One IndexedDB object store, opened on first use: where the browser keeps the
 * session (storage.ts `indexedDbStorage`) and the device keys (key-store.ts
 * `indexedDbKeyStore`). IndexedDB is consistent across the tabs of an origin and
 * stores CryptoKey objects as they are, which is why both use it.
 */

/** An object store of database `database`, opened lazily and reopened when lost. */
export interface ObjectStore {
  /**
   * The open database (the store is created on first open). Rejects when it cannot be
   * opened (blocked, some private modes); the next call then tries again, as it does
   * after the browser closed the connection.
   */
  open(): Promise<IDBDatabase>;
  /**
   * Runs `op` in one transaction and resolves with its request's result once the
   * transaction completed. "strict" durability: a write is on disk before `complete`,
   * which is when the cross-tab refresh lock is released.
   */
  run<T>(
    mode: IDBTransactionMode,
    op: (store: IDBObjectStore) => IDBRequest,
  ): Promise<T>;
}

/** The object store `storeName` in database `database` (version 1). */
export function objectStore(database: string, storeName: string): ObjectStore {
  let opened: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> =>
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(database, 1);
      request.onupgradeneeded = () =>
        request.result.createObjectStore(storeName);
      request.onsuccess = () => {
        const db = request.result;
        // Another tab upgrading the schema, or the browser clearing site data: reconnect later.
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
  return {
    open,
    async run<T>(
      mode: IDBTransactionMode,
      op: (store: IDBObjectStore) => IDBRequest,
    ): Promise<T> {
      const db = await open();
      return await new Promise<T>((resolve, reject) => {
        const tx = db.transaction(storeName, mode, { durability: "strict" });
        const request = op(tx.objectStore(storeName));
        tx.oncomplete = () => resolve(request.result as T);
        tx.onerror = tx.onabort = () =>
          reject(tx.error ?? new Error("IndexedDB transaction failed"));
      });
    },
  };
}
