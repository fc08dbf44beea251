/**
 * fileKeyStore (packages/client/src/file-key-store.ts) against the attacks a shared
 * machine allows: a symbolic link planted where the key file or the directory goes, a
 * directory or key file others can read, and a loose umask. The real file system,
 * real links; nothing is mocked.
 */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileKeyStore } from "../../../packages/client/src/key-store.ts";

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "sg-keystore-"));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function keyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
}

async function thumb(key: CryptoKey): Promise<string> {
  const { x, y } = await crypto.subtle.exportKey("jwk", key);
  return `${x}.${y}`;
}

describe("fileKeyStore", () => {
  it("round-trips a key, 0600 in a 0700 directory, whatever the umask", async () => {
    const previous = process.umask(0);
    try {
      const dir = path.join(scratch, "keys");
      const store = fileKeyStore(dir);
      const pair = await keyPair();
      await store.set("session", pair);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const files = await readdir(dir);
      expect(files).toEqual(["session.jwk.json"]); // no temporary file left behind
      expect((await stat(path.join(dir, files[0]!))).mode & 0o777).toBe(0o600);
      const read = await store.get("session");
      expect(await thumb(read!.publicKey)).toBe(await thumb(pair.publicKey));
      await store.remove("session");
      expect(await store.get("session")).toBeNull();
    } finally {
      process.umask(previous);
    }
  });

  it("never writes through a symbolic link planted at the key's name", async () => {
    const dir = path.join(scratch, "keys");
    await mkdir(dir, { mode: 0o700 });
    const victim = path.join(scratch, "victim.txt");
    await writeFile(victim, "do not touch", { mode: 0o644 });
    await symlink(victim, path.join(dir, "session.jwk.json"));
    const store = fileKeyStore(dir);
    // Reading through the link is refused.
    await expect(store.get("session")).rejects.toThrow(/symbolic link/);
    await store.set("session", await keyPair());
    expect(await readFile(victim, "utf8")).toBe("do not touch");
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
    const written = await lstat(path.join(dir, "session.jwk.json"));
    expect(written.isSymbolicLink()).toBe(false);
    expect(written.mode & 0o777).toBe(0o600);
    // remove() unlinks a link, never its target.
    await symlink(victim, path.join(dir, "other.jwk.json"));
    await fileKeyStore(dir).remove("other");
    expect(await readFile(victim, "utf8")).toBe("do not touch");
  });

  it("refuses a directory that is a symbolic link, and writes nothing to its target", async () => {
    const elsewhere = path.join(scratch, "attacker");
    await mkdir(elsewhere, { mode: 0o777 });
    const dir = path.join(scratch, "keys");
    await symlink(elsewhere, dir);
    await expect(fileKeyStore(dir).set("session", await keyPair())).rejects.toThrow(/symbolic link/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it("tightens an existing directory and key file that others can read", async () => {
    const dir = path.join(scratch, "keys");
    await mkdir(dir);
    await chmod(dir, 0o777);
    const store = fileKeyStore(dir);
    await store.set("session", await keyPair());
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const file = path.join(dir, "session.jwk.json");
    await chmod(file, 0o644);
    expect(await store.get("session")).not.toBeNull();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("uses unpredictable temporary names, so no two writes collide", async () => {
    const dir = path.join(scratch, "keys");
    const store = fileKeyStore(dir);
    const pairs = await Promise.all(Array.from({ length: 8 }, keyPair));
    await Promise.all(pairs.map((pair) => store.set("session", pair)));
    expect(await readdir(dir)).toEqual(["session.jwk.json"]);
    const read = await store.get("session");
    const written = await Promise.all(pairs.map((pair) => thumb(pair.publicKey)));
    expect(written).toContain(await thumb(read!.publicKey)); // one whole key, never a mix
  });
});
