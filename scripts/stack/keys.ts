/**
 * Keys and secrets of a local stack, generated on its first run and kept in an
 * ignored folder (`.local/`), so tokens stay valid across restarts. Never commit them;
 * delete the file to get new ones.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export interface LocalKeys {
  readonly version: 1;
  readonly created_at: string;
  /** SESSION_SIGNING_JWK: ES256 private JWK with its kid. */
  readonly session_signing_jwk: Record<string, string>;
  /** SESSION_REFRESH_SECRET: 32 random bytes, base64url. */
  readonly session_refresh_secret: string;
  /** CLERK_WEBHOOK_SECRET: whsec_ and 32 random bytes, base64 (Svix's format). */
  readonly clerk_webhook_secret: string;
  /** The local development issuer's RS256 key (private JWK with kid) and its PEM public key. */
  readonly dev_clerk: { readonly private_jwk: Record<string, string>; readonly public_pem: string };
}

/** Reads the keys at `file`, or generates and saves them; `created` tells which. */
export async function loadOrCreateKeys(file: string): Promise<{ keys: LocalKeys; created: boolean }> {
  try {
    const keys = JSON.parse(await readFile(file, "utf8")) as LocalKeys;
    if (keys.version !== 1 || !keys.session_signing_jwk?.d || !keys.dev_clerk?.private_jwk?.d) {
      throw new Error(`${file} is not a keys file of this version; delete it to generate new keys`);
    }
    return { keys, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const keys = generateKeys();
  await mkdir(path.dirname(file), { recursive: true });
  // Written whole or not at all, readable by this user only.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, file);
  return { keys, created: true };
}

/** Fresh keys and secrets. */
export function generateKeys(): LocalKeys {
  const suffix = () => randomBytes(4).toString("hex");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { kty, crv, x, y, d } = ec.privateKey.export({ format: "jwk" });
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsaJwk = rsa.privateKey.export({ format: "jwk" });
  return {
    version: 1,
    created_at: new Date().toISOString(),
    session_signing_jwk: { kty: kty!, crv: crv!, x: x!, y: y!, d: d!, kid: `local-${suffix()}` },
    session_refresh_secret: randomBytes(32).toString("base64url"),
    clerk_webhook_secret: `whsec_${randomBytes(32).toString("base64")}`,
    dev_clerk: {
      private_jwk: { ...(rsaJwk as Record<string, string>), kid: `ins_local_${suffix()}` },
      public_pem: rsa.publicKey.export({ format: "pem", type: "spki" }).toString(),
    },
  };
}
