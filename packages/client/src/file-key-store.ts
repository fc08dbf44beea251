/**
 * `fileKeyStore`: a device key per JSON file, for servers and CLIs whose session
 * outlives the process. The private key lies on disk (extractable), so the store
 * guards the files like the session itself:
 *
 *  - the directory is created 0700, and an existing one whose mode lets group or
 *    others in is tightened to 0700; a directory that is a symbolic link, or not
 *    owned by this user, is refused (whoever controls it could read the key);
 *  - a key is written to a temporary file of an unpredictable name, created
 *    exclusively (`O_CREAT | O_EXCL`) without following a symbolic link
 *    (`O_NOFOLLOW`), mode 0600, synced, then renamed over the key's name: a planted
 *    link at either name is never written through, and a reader sees the old key or
 *    the new one, never half of one;
 *  - a key file is opened with `O_NOFOLLOW` (a link in its place is refused) and must
 *    be a regular file; a readable-by-others one is tightened to 0600.
 */
import { ECDSA_P256, subtle } from "./dpop-proof.ts";
import type { DpopKeyStore } from "./key-store.ts";

/** Directory and file modes: the owner alone. */
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * A JSON file per key in `directory` (Node only), guarded as the header says. Throws
 * on first use when the directory or a key file is not safe to use.
 */
export function fileKeyStore(directory: string): DpopKeyStore {
  const base = directory.replace(/\/+$/, "") || "/";
  const fileOf = (name: string) => `${base}/${encodeURIComponent(name)}.jwk.json`;
  // A specifier in a variable: bundlers and the browser never try to load node: modules.
  const specifier = "node:fs/promises";
  const fs = (): Promise<NodeFs> => import(specifier);

  /** The directory, created or checked; refuses a link or another user's directory. */
  async function safeDirectory(fsp: NodeFs): Promise<void> {
    await fsp.mkdir(base, { recursive: true, mode: DIRECTORY_MODE });
    const info = await fsp.lstat(base);
    if (info.isSymbolicLink() || !info.isDirectory()) {
      throw new Error(`sessionguard: fileKeyStore: ${base} is a symbolic link or not a directory`);
    }
    const uid = (globalThis as { process?: { getuid?: () => number } }).process?.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      throw new Error(`sessionguard: fileKeyStore: ${base} belongs to another user`);
    }
    if ((info.mode & 0o077) !== 0) await fsp.chmod(base, DIRECTORY_MODE);
  }

  return {
    extractable: true,
    async get(name) {
      const fsp = await fs();
      let handle: NodeFileHandle;
      try {
        handle = await fsp.open(fileOf(name), fsp.constants.O_RDONLY | fsp.constants.O_NOFOLLOW);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ENOENT") return null;
        if (code === "ELOOP") {
          throw new Error(`sessionguard: fileKeyStore: ${fileOf(name)} is a symbolic link; refused`);
        }
        throw error;
      }
      let text: string;
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          throw new Error(`sessionguard: fileKeyStore: ${fileOf(name)} is not a regular file`);
        }
        if ((info.mode & 0o077) !== 0) await handle.chmod(FILE_MODE);
        text = await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
      const { privateJwk, publicJwk } = JSON.parse(text) as { privateJwk: JsonWebKey; publicJwk: JsonWebKey };
      return {
        privateKey: await subtle().importKey("jwk", privateJwk, ECDSA_P256, true, ["sign"]),
        publicKey: await subtle().importKey("jwk", publicJwk, ECDSA_P256, true, ["verify"]),
      };
    },
    async set(name, keys) {
      const fsp = await fs();
      await safeDirectory(fsp);
      const text = JSON.stringify({
        privateJwk: await subtle().exportKey("jwk", keys.privateKey),
        publicJwk: await subtle().exportKey("jwk", keys.publicKey),
      });
      const nonce = Array.from(
        crypto.getRandomValues(new Uint8Array(16)),
        (b) => b.toString(16).padStart(2, "0"),
      )
        .join("");
      const temporary = `${fileOf(name)}.${nonce}.tmp`;
      const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fsp.constants;
      const handle = await fsp.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE);
      try {
        await handle.chmod(FILE_MODE); // whatever the umask
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } catch (error) {
        await handle.close();
        await fsp.rm(temporary, { force: true });
        throw error;
      }
      await handle.close();
      // rename replaces whatever has the key's name (a planted link included) without following it.
      await fsp.rename(temporary, fileOf(name));
    },
    async remove(name) {
      // rm unlinks a link itself, never its target.
      await (await fs()).rm(fileOf(name), { force: true });
    },
  };
}

/** What `lstat`/`stat` answer, as far as used. */
interface NodeStats {
  readonly mode: number;
  readonly uid: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** An open file, as far as used. */
interface NodeFileHandle {
  stat(): Promise<NodeStats>;
  chmod(mode: number): Promise<void>;
  readFile(encoding: "utf8"): Promise<string>;
  writeFile(data: string, encoding: "utf8"): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The few node:fs/promises members used (the SDK does not depend on Node's types). */
interface NodeFs {
  readonly constants: {
    readonly O_RDONLY: number;
    readonly O_WRONLY: number;
    readonly O_CREAT: number;
    readonly O_EXCL: number;
    readonly O_NOFOLLOW: number;
  };
  open(path: string, flags: number, mode?: number): Promise<NodeFileHandle>;
  lstat(path: string): Promise<NodeStats>;
  chmod(path: string, mode: number): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}
