/**
 * Keys as `supabase gen signing-key --algorithm ES256` writes them. It encodes x, y and d
 * with Go's `big.Int.Bytes()`, which drops leading zero bytes (supabase/cli
 * `internal/gen/signingkeys/signingkeys.go`, `generateECDSAKeyPair`, at commit
 * 038cb984), so about 1 key in 85 has a 31-byte coordinate; its kid is a UUID and it
 * carries `use`, `key_ops`, `alg` and `ext`.
 *
 * Such keys, one short in each coordinate, are loaded by the real access-token code
 * under Deno with every signer, and one runs the real session function: every token
 * must pass each Supabase service's rules (../../support/platform/verifiers), and the
 * JWKS must publish full-length coordinates (RFC 7518 §6.2.1.2).
 */
import { execFile } from "node:child_process";
import { createECDH, randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { base64url, decodeProtectedHeader, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshSecret } from "../../../scripts/lib/throwaway-keys.ts";
import { type Stack, startStack } from "../../support/stack.ts";
import { importedKeyProject, thirdPartyProject } from "../../support/platform/verifiers/project.ts";
import { postgrestVerify } from "../../support/platform/verifiers/postgrest.ts";
import { realtimeVerify } from "../../support/platform/verifiers/realtime.ts";
import { storageVerify } from "../../support/platform/verifiers/storage.ts";

const root = path.resolve(import.meta.dirname, "..", "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");
const SECRET = randomBytes(30).toString("base64url");
const LEGACY_KID = randomUUID();
type Coordinate = "x" | "y" | "d";

/**
 * A CLI-shaped private JWK whose `short` coordinate lost its leading zero byte. Keys are
 * drawn with ECDH (the same P-256 key pairs) until the coordinate starts with a zero byte,
 * about 1 in 256: reading each candidate with `KeyObject.export({ format: "jwk" })`
 * instead hung this worker on a futex after about 1,500 exports made without yielding to
 * the event loop (Node 20.20.2, OpenSSL 3.0.19), which a search of three coordinates
 * reaches now and then.
 */
function cliKey(short: Coordinate): Record<string, unknown> {
  for (;;) {
    const ecdh = createECDH("prime256v1");
    const point = ecdh.generateKeys(); // uncompressed: 0x04, x, y
    const privateKey = ecdh.getPrivateKey();
    const full: Record<Coordinate, Buffer> = {
      x: point.subarray(1, 33),
      y: point.subarray(33, 65),
      d: Buffer.concat([Buffer.alloc(32 - privateKey.length), privateKey]),
    };
    if (full[short][0] !== 0) continue;
    return {
      kty: "EC",
      kid: randomUUID(),
      use: "sig",
      key_ops: ["sign", "verify"],
      alg: "ES256",
      ext: true,
      crv: "P-256",
      x: base64url.encode(full.x),
      y: base64url.encode(full.y),
      d: base64url.encode(full.d),
      [short]: base64url.encode(full[short].subarray(1)), // what big.Int.Bytes() writes
    };
  }
}

/** Every service's verdict on `token`, for a project that imported the key and for custom OIDC. */
async function expectAcceptedEverywhere(token: string, imported: readonly JWK[], published: readonly JWK[]) {
  const now = new Date();
  for (
    const project of [
      importedKeyProject(SECRET, LEGACY_KID, imported),
      thirdPartyProject(SECRET, LEGACY_KID, { kty: "EC", kid: randomUUID() }, published),
    ]
  ) {
    expect(await postgrestVerify(token, project.postgrest, now), project.label).toMatchObject({
      ok: true,
      role: "authenticated",
    });
    expect(await storageVerify(token, project.storage, now), project.label).toMatchObject({ ok: true });
    expect(await realtimeVerify(token, project.realtime, now), project.label).toMatchObject({ ok: true });
  }
}

const keys = { x: cliKey("x"), y: cliKey("y"), d: cliKey("d") };

describe.each(["noble", "webcrypto", "auto"])("under Deno, SESSION_SIGNER=%s", (signer) => {
  it.each(["x", "y", "d"] as const)(
    "a key with a 31-byte %s signs tokens every service accepts",
    async (short) => {
      const key = keys[short];
      expect(Buffer.from(key[short] as string, "base64url").length).toBe(31);
      const env = {
        CLERK_ISSUER: "https://example.clerk.accounts.dev",
        SUPABASE_URL: "https://abcdefghijklmnopqrst.supabase.co",
        SESSION_SIGNING_JWK: JSON.stringify(key),
        SESSION_REFRESH_SECRET: refreshSecret(),
        DATABASE_URL: "postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
        SESSION_SIGNER: signer,
      };
      const program = `
      import { parseConfig } from "./functions/config.ts";
      import { createAccessTokens } from "./functions/access-token.ts";
      const tokens = await createAccessTokens(parseConfig(JSON.parse(Deno.args[0])));
      const { token } = await tokens.sign({ userId: "user_cli", sessionId: crypto.randomUUID(), now: new Date() });
      await tokens.verify(token, new Date());
      console.log(JSON.stringify({ token, jwks: tokens.jwks }));`;
      const { stdout } = await promisify(execFile)(DENO, ["eval", program, JSON.stringify(env)], {
        cwd: root,
        env: { ...process.env, NO_COLOR: "1", RUST_BACKTRACE: "0" },
      });
      const { token, jwks } = JSON.parse(stdout) as { token: string; jwks: { keys: JWK[] } };
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", kid: key.kid });
      const [publishedKey] = jwks.keys;
      for (const member of ["x", "y"] as const) {
        const bytes = Buffer.from(publishedKey![member]!, "base64url");
        expect(bytes.length).toBe(32);
        // The same number: the CLI's short form, left-padded.
        expect(BigInt(`0x${bytes.toString("hex")}`)).toBe(
          BigInt(`0x${Buffer.from(key[member] as string, "base64url").toString("hex")}`),
        );
      }
      const { d: _d, key_ops: _ops, ext: _ext, ...imported } = key;
      await expectAcceptedEverywhere(token, [imported as JWK], jwks.keys);
    },
    60_000,
  );
});

describe("the session function with a CLI-shaped key (31-byte x, UUID kid)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_SIGNING_JWK: JSON.stringify(keys.x) });
  }, 60_000);
  afterAll(async () => await stack?.stop());

  it("starts, refreshes and mints tokens every service accepts", async () => {
    const started = await stack.start();
    const refreshed = await stack.call("/refresh", { json: { refresh_token: started.refresh_token } });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const published = (await stack.call("/.well-known/jwks.json")).body.keys as JWK[];
    expect(published.map((key) => key.kid)).toEqual([keys.x.kid]);
    const { d: _d, key_ops: _ops, ext: _ext, ...imported } = keys.x;
    for (const token of [started.access_token, refreshed.body.access_token as string]) {
      await expectAcceptedEverywhere(token, [imported as JWK], published);
    }
  }, 60_000);
});
