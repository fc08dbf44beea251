/**
 * A Node app's sessionguard client whose session and device key live in files (the way a
 * CLI or a desktop app keeps them across restarts): the session in `<dir>/session.json`,
 * the key in `fileKeyStore(<dir>/keys)`. Used by tests/integration/sdk-killed-mid-refresh.test.ts
 * from the test process and from the child it kills (tests/support/sdk/refresh-child.ts).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createSessionClient,
  fileKeyStore,
  type SessionClient,
  type StorageAdapter,
} from "../../../packages/client/src/index.ts";

/** One JSON file of key-value pairs, written whole and renamed into place. */
export function fileStorage(path: string): StorageAdapter {
  const read = (): Record<string, string> => existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
  const write = (all: Record<string, string>) => {
    writeFileSync(`${path}.tmp`, JSON.stringify(all), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  };
  return {
    get: (key) => read()[key] ?? null,
    set: (key, value) => write({ ...read(), [key]: value }),
    remove: (key) => {
      const all = read();
      delete all[key];
      if (Object.keys(all).length) write(all);
      else rmSync(path, { force: true });
    },
  };
}

/** The app's client: binding left at its default (bound, since a key store is given). */
export function fileSessionClient(url: string, dir: string, fetchImpl?: typeof fetch): SessionClient {
  return createSessionClient({
    url,
    storage: fileStorage(join(dir, "session.json")),
    dpopKeyStore: fileKeyStore(join(dir, "keys")),
    autoRefresh: false,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}
