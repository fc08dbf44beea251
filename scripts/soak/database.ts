/**
 * A PostgreSQL 17 server of the fault run's own (scripts/lib/local-postgres.ts's embedded
 * server), prepared like the test database, that can be stopped and started
 * again on the same port and data folder while the function keeps running.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { type Database, localDir, startDatabase } from "../lib/local-postgres.ts";

/** A server that can go away and come back. */
export interface RestartableDatabase {
  /** URL as the superuser `postgres`. */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown: sessions are terminated). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it and deletes its data folder. */
  remove(): Promise<void>;
}

/**
 * Starts a fresh prepared server named `name` (data under .local/pg17-<name>).
 * Refuses when DATABASE_URL points at a server this process may not stop.
 */
export async function startRestartableDatabase(name: string): Promise<RestartableDatabase> {
  if (process.env.DATABASE_URL) {
    throw new Error("DATABASE_URL is set: the fault run needs a server of its own");
  }
  let current: Database | null = await startDatabase({ version: 17, name, reset: true });
  const url = current.url;
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    async stop() {
      await current?.stop();
      current = null;
    },
    async start() {
      if (current === null) current = await startDatabase({ version: 17, name, port, prepare: false });
    },
    async remove() {
      await current?.stop();
      current = null;
      await fs.rm(path.join(localDir, `pg17-${name}`), { recursive: true, force: true });
    },
  };
}
