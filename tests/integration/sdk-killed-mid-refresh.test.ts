/**
 * P14 with the Node SDK: an app killed after its refresh request reached the server (the
 * server rotated; the answer died with the process) and started again with the same
 * stored session and key presents the spent token. A device-bound session gets the
 * successor again and carries on: no theft event, not revoked. The server runs with
 * SESSION_REUSE_GRACE=0, so no grace window is what saves it. The unbound control shows
 * what binding buys: the same crash after the window is reuse.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf, family } from "../support/database-rows.ts";
import { fileSessionClient, fileStorage } from "../support/sdk/file-session.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { createSessionClient } from "../../packages/client/src/index.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ SESSION_REUSE_GRACE: "0" });
});
afterAll(async () => {
  await stack?.stop();
});

const CHILD = path.resolve(import.meta.dirname, "../support/sdk/refresh-child.ts");
const TSX = path.resolve(import.meta.dirname, "../../node_modules/.bin/tsx");

/** Runs the child until the server answered its refresh, then kills it (SIGKILL). */
async function killMidRefresh(dir: string): Promise<string> {
  const child = spawn(TSX, [CHILD, stack.server.url, dir], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child never refreshed: ${out} ${err}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("answered")) {
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      if (!out.includes("answered")) reject(new Error(`the child exited early: ${out} ${err}`));
    });
  });
  await exited;
  return out;
}

describe("an app killed mid-refresh, restarted with the same stored session", () => {
  it("bound by default: refreshes fine, nothing revoked, no theft event", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sg-killed-"));
    try {
      const user = clerkId("user");
      const app = fileSessionClient(stack.server.url, dir);
      expect(app.deviceBinding).toEqual({ bind: true });
      const info = await app.start(await stack.clerk.token({ sub: user }));
      app.close();
      const before = JSON.parse(fileStorage(path.join(dir, "session.json")).get("sessionguard.session") as string);
      expect(before.dpop_jkt).toBeTruthy();

      expect(await killMidRefresh(dir)).toContain("answered 200");
      // The server rotated; the app's files still hold the spent token.
      expect(Number((await family(stack.sql, info.session_id))!.generation)).toBe(1);
      const still = JSON.parse(fileStorage(path.join(dir, "session.json")).get("sessionguard.session") as string);
      expect(still.refresh_token).toBe(before.refresh_token);

      // Restarted: a new process's client on the same files.
      const restarted = fileSessionClient(stack.server.url, dir);
      const theft: string[] = [];
      restarted.on("theftDetected", (e) => theft.push(e.error.code));
      await restarted.refresh(); // the spent token, with the key: the successor again (P14)
      await restarted.refresh(); // and that successor rotates as usual
      expect(await restarted.getSession()).not.toBeNull();
      restarted.close();
      expect(theft).toEqual([]);
      const row = await family(stack.sql, info.session_id);
      expect(row!.revoked_at).toBeNull();
      expect(Number(row!.generation)).toBe(2);
      const types = (await eventsOf(stack.sql, user)).map((e) => e.type);
      expect(types).not.toContain("refresh_token_reused");
      expect(types).not.toContain("dpop_key_mismatch");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("control: an unbound session in the same crash is taken for theft (why the SDK binds by default)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sg-killed-"));
    try {
      const user = clerkId("user");
      const storage = fileStorage(path.join(dir, "session.json"));
      const app = createSessionClient({ url: stack.server.url, storage, dpop: false, autoRefresh: false });
      const info = await app.start(await stack.clerk.token({ sub: user }));
      await fetch(`${stack.server.url}/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: JSON.parse(storage.get("sessionguard.session") as string).refresh_token }),
      }); // the request that reached the server; its answer is lost with the process
      await expect(app.refresh()).rejects.toMatchObject({ code: "refresh_token_reused" });
      app.close();
      expect((await family(stack.sql, info.session_id))!.revoked_at).not.toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
