/**
 * The local development issuer on its own (under Node), and the guarantee that no
 * deployed function can reach it.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { generateKeyPair, importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createDevIssuer, DEMO_USER_ID, DEV_ISSUER_LABEL } from "../../dev/dev-issuer.ts";
import { createClerkVerifier } from "../../functions/clerk-session-token.ts";
import { generateKeys } from "../../scripts/stack/keys.ts";
import { root } from "../support/npm-start.ts";

const ORIGIN = "http://127.0.0.1:54321";
const get = (url: string, headers: Record<string, string> = {}) =>
  new Request(`${ORIGIN}${url}`, { headers });

async function issuer(now?: () => Date) {
  const keys = generateKeys();
  const dev = await createDevIssuer({
    origin: ORIGIN,
    privateJwk: keys.dev_clerk.private_jwk as never,
    authorizedParties: [ORIGIN, "http://localhost:3000"],
    now,
    log: () => {},
  });
  return { dev, keys };
}

describe("the local development issuer", () => {
  it("signs tokens that the session function's own Clerk verifier accepts with the pinned PEM key", async () => {
    const { dev, keys } = await issuer();
    const verify = await createClerkVerifier({
      issuer: dev.issuer,
      jwksUrl: dev.jwksUrl,
      jwtKey: keys.dev_clerk.public_pem,
      authorizedParties: [ORIGIN],
    });
    const response = await dev.handle(get("/dev/clerk-token?user=bob"));
    const { token } = await response!.json();
    const identity = await verify(token, new Date());
    expect(identity.userId).toBe("user_demo_bob");
    expect(identity.clerkSessionId).toMatch(/^sess_[A-Za-z0-9]{27}$/);
  });

  it("names the calling origin in azp only when it is an authorized party", async () => {
    const { dev, keys } = await issuer();
    const key = await importSPKI(keys.dev_clerk.public_pem, "RS256");
    const azpFor = async (origin?: string) => {
      const response = await dev.handle(get("/dev/clerk-token", origin ? { origin } : {}));
      const { payload } = await jwtVerify((await response!.json()).token, key);
      return { azp: payload.azp, cors: response!.headers.get("access-control-allow-origin") };
    };
    expect(await azpFor()).toEqual({ azp: ORIGIN, cors: null });
    expect(await azpFor("http://localhost:3000")).toEqual({
      azp: "http://localhost:3000",
      cors: "http://localhost:3000",
    });
    expect(await azpFor("https://evil.example")).toEqual({ azp: ORIGIN, cors: null });
  });

  it("is labelled, publishes only the public key, and leaves other paths alone", async () => {
    const { dev } = await issuer();
    const about = await (await dev.handle(get("/dev/clerk")))!.json();
    expect(about.label).toBe(DEV_ISSUER_LABEL);
    const jwks = await (await dev.handle(get("/dev/clerk/.well-known/jwks.json")))!.json();
    expect(Object.keys(jwks.keys[0]).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    const openid = await (await dev.handle(get("/dev/clerk/.well-known/openid-configuration")))!.json();
    expect(openid).toMatchObject({ issuer: `${ORIGIN}/dev/clerk`, jwks_uri: dev.jwksUrl });
    expect(await dev.handle(get("/functions/v1/session/start"))).toBeNull();
    expect(await dev.handle(get("/developer"))).toBeNull();
    expect((await dev.handle(get("/dev/other")))!.status).toBe(404);
  });

  it("refuses hostile user and sid parameters", async () => {
    const { dev } = await issuer();
    for (
      const query of ["?user=", "?user=a%20b", `?user=${"x".repeat(65)}`, "?sid=user_x", "?sid=sess_a.b"]
    ) {
      expect((await dev.handle(get(`/dev/clerk-token${query}`)))!.status, query).toBe(400);
    }
    const { token } = await (await dev.handle(get("/dev/clerk-token?user=user_abc&sid=sess_fixed")))!.json();
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    expect(payload).toMatchObject({ sub: "user_abc", sid: "sess_fixed" });
    const plain = await (await dev.handle(get("/dev/clerk-token")))!.json();
    expect(JSON.parse(Buffer.from(plain.token.split(".")[1], "base64url").toString()).sub).toBe(DEMO_USER_ID);
  });

  it("signs with the clock it is given: 60 s life, nbf ten seconds before iat", async () => {
    const { dev } = await issuer(() => new Date("2030-01-01T00:00:00Z"));
    const token = await dev.token();
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    const iat = Date.UTC(2030, 0, 1) / 1000;
    expect(payload).toMatchObject({ iat, nbf: iat - 10, exp: iat + 60, sts: "active", v: 2 });
  });

  it("does not verify with another key", async () => {
    const { dev } = await issuer();
    const { publicKey } = await generateKeyPair("RS256");
    await expect(jwtVerify(await dev.token(), publicKey)).rejects.toThrow();
  });

  it("is never imported by a deployed function", async () => {
    const functionsDir = path.join(root, "supabase", "functions");
    const offenders: string[] = [];
    const walk = async (dir: string, pattern: RegExp): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full, pattern);
        else if (/\.(ts|js|json)$/.test(entry.name)) {
          const text = await readFile(full, "utf8");
          if (pattern.test(text)) offenders.push(path.relative(root, full));
        }
      }
    };
    await walk(functionsDir, /dev-issuer|dev\/gateway|\/dev\//);
    // functions/ has folders (config/, routes/): walked like supabase/functions.
    await walk(path.join(root, "functions"), /dev-issuer|dev\/gateway/);
    expect(offenders).toEqual([]);
  });
});
