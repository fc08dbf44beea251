/**
 * Every access token the session function mints — ES256, HS256 with and without
 * SESSION_JWT_KID, DPoP-bound, before and after a signing-key rotation — passes each
 * Supabase service that reads it, by that service's own rules (./verifiers/*.ts, each
 * written from the service's source), configured as a hosted project is for each
 * deploy path (./verifiers/project.ts). Negative controls show the rules bite: a
 * foreign `kid`, a wrong algorithm, an expiry beyond the skew; and the old HS256 `kid`
 * is refused by PostgREST while Storage and Realtime let it through (issue 11).
 *
 * Tokens come from the real function over HTTP; `auth.jwt()` and the RLS helpers run
 * in the real test database with the claims PostgREST hands it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDb, type Sql } from "../../support/database-rows.ts";
import { deviceKey, proof } from "../../support/dpop.ts";
import { signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type Stack, startStack } from "../../support/stack.ts";
import {
  type HostedProject,
  importedKeyProject,
  legacyProject,
  legacyProjectWithAuthKid,
  migratedLegacyProject,
  thirdPartyProject,
} from "../../support/platform/verifiers/project.ts";
import { postgrestVerify } from "../../support/platform/verifiers/postgrest.ts";
import { realtimeVerify } from "../../support/platform/verifiers/realtime.ts";
import { storageVerify } from "../../support/platform/verifiers/storage.ts";

const SECRET = randomBytes(30).toString("base64url"); // the project's legacy JWT secret
const LEGACY_KID = randomUUID(); // the id the dashboard shows for it after migration
let supabaseKey: JWK; // a key of Supabase's own (standby or in use): foreign to us
let k1: Record<string, string>;
let k2: Record<string, string>;
const stacks: Stack[] = [];
let sql: Sql;

interface Minted {
  readonly label: string;
  readonly token: string;
  readonly sessionId: string;
  readonly userId: string;
}
const es256: Minted[] = [];
const hs256: Minted[] = [];
let projects: {
  legacy: HostedProject;
  legacyAuthKid: HostedProject;
  migrated: HostedProject;
  imported: HostedProject;
  thirdParty: HostedProject;
};

async function mint(stack: Stack, label: string, headers: Record<string, string> = {}): Promise<Minted> {
  const started = await stack.start(undefined, headers);
  return { label, token: started.access_token, sessionId: started.session.id, userId: started.user_id };
}

beforeAll(async () => {
  k1 = await signingJwk("sg-key-1");
  k2 = await signingJwk("sg-key-2");
  const own = await generateKeyPair("ES256", { extractable: true });
  supabaseKey = { ...(await exportJWK(own.publicKey)), kid: randomUUID(), alg: "ES256", use: "sig" };

  const [before, after, legacy, legacyWithKid] = await Promise.all([
    startStack({ SESSION_SIGNING_JWK: JSON.stringify(k1) }),
    startStack({ SESSION_SIGNING_JWK: JSON.stringify([k2, k1]) }), // rotated: k2 signs, k1 verifies
    startStack({ SESSION_SIGNING_JWK: undefined, SESSION_JWT_SECRET: SECRET }),
    startStack({ SESSION_SIGNING_JWK: undefined, SESSION_JWT_SECRET: SECRET, SESSION_JWT_KID: LEGACY_KID }),
  ]);
  stacks.push(before, after, legacy, legacyWithKid);
  sql = openTestDb();

  const device = await deviceKey();
  es256.push(
    await mint(before, "ES256, before rotation (sg-key-1)"),
    await mint(before, "ES256, DPoP-bound", {
      dpop: await proof(device, "POST", `${before.server.url}/start`),
    }),
    await mint(after, "ES256, after rotation (sg-key-2)"),
  );
  hs256.push(
    await mint(legacy, "HS256, no SESSION_JWT_KID"),
    await mint(legacyWithKid, "HS256, SESSION_JWT_KID"),
  );

  // What the project is given: the JWKS the function publishes (imported: the public
  // halves of the imported keys; custom OIDC: read through the discovery document).
  const discovery = await after.call("/.well-known/openid-configuration");
  expect(discovery.body.jwks_uri).toBe(`${discovery.body.issuer}/.well-known/jwks.json`);
  const published = (await after.call("/.well-known/jwks.json")).body.keys as JWK[];
  expect(published.map((key) => key.kid)).toEqual(["sg-key-2", "sg-key-1"]);
  projects = {
    legacy: legacyProject(SECRET),
    legacyAuthKid: legacyProjectWithAuthKid(SECRET, LEGACY_KID),
    migrated: migratedLegacyProject(SECRET, LEGACY_KID, supabaseKey),
    imported: importedKeyProject(SECRET, LEGACY_KID, published),
    thirdParty: thirdPartyProject(SECRET, LEGACY_KID, supabaseKey, published),
  };
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...stacks.map((stack) => stack.stop()), sql?.end({ timeout: 5 })]);
});

/** Runs `claims` the way PostgREST does (switch role, set request.jwt.claims) and reads them back. */
async function inDatabase(claims: Record<string, unknown>, role: string) {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticator', true)`;
    await tx`select set_config('role', ${role}, true)`;
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    const [row] = await tx`
      select current_user as "user", auth.jwt() ->> 'sub' as sub, auth.jwt() ->> 'role' as role,
             sessionguard.user_id() as user_id, sessionguard.session_id()::text as sid,
             sessionguard.session_active() as active`;
    return row!;
  });
}

/** Every service's verdict on `token` for `project` at `now`. */
async function verdicts(token: string, project: HostedProject, now = new Date()) {
  return {
    postgrest: await postgrestVerify(token, project.postgrest, now),
    storage: await storageVerify(token, project.storage, now),
    realtime: await realtimeVerify(token, project.realtime, now),
  };
}

async function expectAcceptedEverywhere(minted: Minted, project: HostedProject): Promise<void> {
  const { postgrest, storage, realtime } = await verdicts(minted.token, project);
  expect(postgrest, `${minted.label} / ${project.label}: PostgREST`).toMatchObject({
    ok: true,
    role: "authenticated",
  });
  expect(storage, `${minted.label} / ${project.label}: Storage`).toMatchObject({
    ok: true,
    role: "authenticated",
  });
  expect(realtime, `${minted.label} / ${project.label}: Realtime`).toMatchObject({ ok: true });
  if (!postgrest.ok) return;
  const row = await inDatabase(postgrest.claims, postgrest.role);
  expect(row).toEqual({
    user: "authenticated",
    sub: minted.userId,
    role: "authenticated",
    user_id: minted.userId,
    sid: minted.sessionId,
    active: true,
  });
}

describe("tokens the function mints, as each service reads them", () => {
  it("ES256 tokens pass a project with the key imported, and one with sessionguard as custom OIDC provider", async () => {
    expect(es256).toHaveLength(3);
    for (const minted of es256) {
      for (const project of [projects.imported, projects.thirdParty]) {
        await expectAcceptedEverywhere(minted, project);
      }
    }
    expect(decodeJwt(es256[1]!.token).cnf).toMatchObject({ jkt: expect.any(String) });
  });

  it("HS256 tokens pass a legacy-secret project, before and after it migrated to signing keys", async () => {
    expect(decodeProtectedHeader(hs256[0]!.token).kid).toBeUndefined();
    expect(decodeProtectedHeader(hs256[1]!.token).kid).toBe(LEGACY_KID);
    // No kid: every key is tried, so it passes whichever way the project holds the secret.
    for (const project of [projects.legacy, projects.legacyAuthKid, projects.migrated, projects.imported]) {
      await expectAcceptedEverywhere(hs256[0]!, project);
    }
    for (const project of [projects.legacyAuthKid, projects.migrated, projects.imported]) {
      await expectAcceptedEverywhere(hs256[1]!, project);
    }
  });

  it("a SESSION_JWT_KID token passes only where the Data API holds the secret under that id", async () => {
    // A bare-string secret has no kid (PostgREST parseSecret): PGRST301.
    expect((await verdicts(hs256[1]!.token, projects.legacy)).postgrest).toMatchObject({
      ok: false,
      code: "PGRST301",
    });
    // Another id than the project's: PGRST301 too.
    const other = legacyProjectWithAuthKid(SECRET, randomUUID());
    expect((await verdicts(hs256[1]!.token, other)).postgrest).toMatchObject({ ok: false, code: "PGRST301" });
  });

  it("a bare-string jwt-secret verifies HS256 only (PostgREST parseSecret)", async () => {
    const hs512 = await new SignJWT(decodeJwt(hs256[0]!.token)).setProtectedHeader({ alg: "HS512" }).sign(
      new TextEncoder().encode(SECRET),
    );
    expect(await postgrestVerify(hs512, projects.legacy.postgrest, new Date())).toMatchObject({
      ok: false,
      code: "PGRST301",
    });
  });

  it("tokens carry the claims policies written for Supabase Auth read, and SQL sees them", async () => {
    for (const minted of [...es256, ...hs256]) {
      const claims = decodeJwt(minted.token);
      expect(claims).toMatchObject({
        session_id: minted.sessionId,
        sid: minted.sessionId,
        is_anonymous: false,
        aal: "aal1",
      });
    }
    const { postgrest } = await verdicts(es256[0]!.token, projects.imported);
    if (!postgrest.ok) throw new Error("expected acceptance");
    const row = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true)`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(postgrest.claims)}, true)`;
      const [found] = await tx`
        select auth.jwt() ->> 'session_id' as session_id, (auth.jwt() ->> 'is_anonymous')::boolean as anonymous,
               auth.jwt() ->> 'aal' as aal`;
      return found!;
    });
    expect(row).toEqual({ session_id: es256[0]!.sessionId, anonymous: false, aal: "aal1" });
  });

  it("ES256 tokens are not accepted by a project that trusts only its legacy secret", async () => {
    for (const minted of es256) {
      const { postgrest, storage, realtime } = await verdicts(minted.token, projects.legacy);
      expect(postgrest).toMatchObject({ ok: false, code: "PGRST301" });
      expect(storage.ok).toBe(false);
      expect(realtime.ok).toBe(false);
    }
  });
});

describe("negative controls", () => {
  /** Re-signs `minted`'s claims with another header and key. */
  async function resign(
    minted: Minted,
    header: { alg: string; kid?: string; typ?: string },
    key: CryptoKey | Uint8Array,
  ) {
    return await new SignJWT(decodeJwt(minted.token)).setProtectedHeader(header).sign(key);
  }

  it("a kid no trusted key has: PGRST301, and Storage and Realtime refuse too", async () => {
    const k1Private = await importJWK({ ...k1, alg: "ES256" }, "ES256") as CryptoKey;
    const token = await resign(es256[0]!, { alg: "ES256", kid: "not-a-trusted-kid", typ: "JWT" }, k1Private);
    for (const project of [projects.imported, projects.thirdParty]) {
      const { postgrest, storage, realtime } = await verdicts(token, project);
      expect(postgrest).toMatchObject({ ok: false, code: "PGRST301" });
      expect(storage.ok).toBe(false);
      expect(realtime.ok).toBe(false);
    }
  });

  it("the kid HS256 tokens used to carry: PostgREST refuses (PGRST301), Storage and Realtime hide it", async () => {
    const token = await resign(
      hs256[0]!,
      { alg: "HS256", kid: "3f1a9c0d2b7e", typ: "JWT" },
      new TextEncoder().encode(SECRET),
    );
    for (const project of [projects.legacy, projects.migrated]) {
      const { postgrest, storage, realtime } = await verdicts(token, project);
      expect(postgrest, project.label).toMatchObject({ ok: false, code: "PGRST301" });
      expect(storage.ok, project.label).toBe(true);
      expect(realtime.ok, project.label).toBe(true);
    }
  });

  it("a wrong algorithm (HS256 keyed with the ES256 public key, under its kid): refused everywhere", async () => {
    const published = JSON.stringify({ kty: k1.kty, crv: k1.crv, x: k1.x, y: k1.y });
    const token = await resign(
      es256[0]!,
      { alg: "HS256", kid: "sg-key-1", typ: "JWT" },
      new TextEncoder().encode(published),
    );
    for (const project of [projects.imported, projects.thirdParty]) {
      const { postgrest, storage, realtime } = await verdicts(token, project);
      expect(postgrest).toMatchObject({ ok: false, code: "PGRST301" });
      expect(storage.ok).toBe(false);
      expect(realtime.ok).toBe(false);
    }
  });

  it("an expiry beyond PostgREST's 30 s skew: PGRST303 and refused everywhere; within it only PostgREST accepts", async () => {
    for (const minted of [es256[0]!, hs256[0]!]) {
      const exp = decodeJwt(minted.token).exp!;
      const project = minted === hs256[0] ? projects.legacy : projects.imported;
      const late = await verdicts(minted.token, project, new Date((exp + 31) * 1000));
      expect(late.postgrest).toMatchObject({ ok: false, code: "PGRST303", reason: "JWTExpired" });
      expect(late.storage.ok).toBe(false);
      expect(late.realtime.ok).toBe(false);
      const skewed = await verdicts(minted.token, project, new Date((exp + 29) * 1000));
      expect(skewed.postgrest.ok).toBe(true);
      expect(skewed.storage.ok).toBe(false);
      expect(skewed.realtime.ok).toBe(false);
    }
  });

  it("iat beyond the skew in the future: PGRST303", async () => {
    const iat = decodeJwt(es256[0]!.token).iat!;
    const { postgrest } = await verdicts(es256[0]!.token, projects.imported, new Date((iat - 31) * 1000));
    expect(postgrest).toMatchObject({ ok: false, code: "PGRST303", reason: "JWTIssuedAtFuture" });
  });

  it("aud: accepted without jwt-aud and with jwt-aud = authenticated, refused for another audience", async () => {
    const token = es256[0]!.token;
    const base = projects.imported.postgrest;
    expect((await postgrestVerify(token, base, new Date())).ok).toBe(true);
    expect((await postgrestVerify(token, { ...base, jwtAud: "authenticated" }, new Date())).ok).toBe(true);
    expect(await postgrestVerify(token, { ...base, jwtAud: "https://other.example" }, new Date()))
      .toMatchObject({ ok: false, code: "PGRST303", reason: "JWTNotInAudience" });
  });

  it("a role the database lacks cannot be switched to, as PostgREST would", async () => {
    const { postgrest } = await verdicts(es256[0]!.token, projects.imported);
    if (!postgrest.ok) throw new Error("expected acceptance");
    await expect(inDatabase({ ...postgrest.claims, role: "no_such_role" }, "no_such_role")).rejects
      .toMatchObject({
        code: "22023",
      });
  });

  it("no service requires typ in the header (Realtime dropped it in v2.41.16)", async () => {
    const token = await resign(hs256[0]!, { alg: "HS256" }, new TextEncoder().encode(SECRET));
    expect((await realtimeVerify(token, projects.legacy.realtime, new Date())).ok).toBe(true);
    expect((await postgrestVerify(token, projects.legacy.postgrest, new Date())).ok).toBe(true);
    expect((await storageVerify(token, projects.legacy.storage, new Date())).ok).toBe(true);
  });

  it("Storage matches an asymmetric kid exactly: a prefixed or suffixed one is refused", async () => {
    const k1Private = await importJWK({ ...k1, alg: "ES256" }, "ES256") as CryptoKey;
    for (const kid of ["x_sg-key-1", "sg-key-1_", "storage-url-signing-key_sg-key-1"]) {
      const token = await resign(es256[0]!, { alg: "ES256", kid, typ: "JWT" }, k1Private);
      expect((await storageVerify(token, projects.imported.storage, new Date())).ok, kid).toBe(false);
    }
  });
});
