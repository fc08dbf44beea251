/**
 * A sample of the model's simulations replayed through the real HTTP handler
 * (functions/handler.ts, the function's whole request path: body, MAC check, DPoP proof,
 * refresh_session, token response) on the test database, with the handler's clock set to
 * each step's tick. Every answer must be the model's: the status and error code, the
 * successor's generation, and for a grace repeat the identical refresh token string (P3);
 * and the family row after each step.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessTokens } from "../../../functions/access-token.ts";
import { createClerkVerifier } from "../../../functions/clerk-session-token.ts";
import { parseConfig } from "../../../functions/config.ts";
import { createHandler, MOUNTS } from "../../../functions/handler.ts";
import { createDpopProofs } from "../../../functions/routes/dpop-proofs.ts";
import { createRefreshTokens } from "../../../functions/refresh-token.ts";
import { createStore, type Sql } from "../../../functions/store.ts";
import { simulate, type Workspace, workspace } from "../../../scripts/model/spin.ts";
import { ATTACKER, describeStep, parseTrace, type Step, type Trace } from "../../../scripts/model/trace.ts";
import { testDatabaseUrl } from "../../support/context.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { deviceKey, proof } from "../../support/dpop.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";

const ISSUER = "http://localhost:54321/functions/v1/session";
const SAMPLE = Number(process.env.SG_MODEL_HTTP_TRACES ?? 30);
const FIRST_SEED = Number(process.env.SG_MODEL_SEED ?? (Date.now() % 1_000_000)) + 500_000;

/** The HTTP answer each model result must become. */
const EXPECTED: Record<Step["result"], { status: number; error?: string }> = {
  rotated: { status: 200 },
  grace: { status: 200 },
  reused: { status: 401, error: "refresh_token_reused" },
  revoked: { status: 401, error: "session_revoked" },
  dpop_mismatch: { status: 401, error: "invalid_dpop_proof" },
  not_found: { status: 401, error: "invalid_refresh_token" },
};

describe("model traces replayed through the HTTP handler", () => {
  let ws: Workspace;
  let clerk: ClerkIssuer;
  let sql: Sql;
  let handler: (request: Request) => Promise<Response>;
  let clock = Date.now();

  beforeAll(async () => {
    ws = workspace();
    clerk = await startClerkIssuer();
    const config = parseConfig({
      CLERK_ISSUER: clerk.issuer,
      SESSION_ISSUER: ISSUER,
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_REUSE_GRACE: "3",
      SESSION_RATE_LIMITS: "off",
      DATABASE_URL: testDatabaseUrl(),
    });
    sql = postgres(config.databaseUrl, { prepare: false, fetch_types: false, max: 4, onnotice: () => {} }) as never;
    const store = createStore(sql);
    handler = createHandler({
      config,
      store,
      proofs: createDpopProofs(config, store, MOUNTS),
      verifyClerkToken: await createClerkVerifier(config.clerk),
      accessTokens: await createAccessTokens(config),
      refreshTokens: await createRefreshTokens(config.refreshSecrets, config.session.issuer),
      now: () => new Date(clock),
      log: () => {},
    });
  });
  afterAll(async () => {
    ws?.close();
    await sql?.end({ timeout: 5 });
    await clerk?.stop();
  });

  async function post(path: string, headers: Record<string, string>, json: unknown) {
    const response = await handler(
      new Request(`http://localhost/functions/v1/session${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(json),
      }),
    );
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  }

  /** Replays one trace; returns the first divergence in words, or null. */
  async function replayHttp(trace: Trace): Promise<string | null> {
    const owner = await deviceKey();
    const thief = await deviceKey();
    const base = Math.floor(Date.now() / 1000) * 1000;
    clock = base;
    const iat = () => Math.floor(clock / 1000);
    const started = await post(
      "/start",
      trace.bound ? { authorization: `Bearer ${await clerk.token()}`, dpop: await proof(owner, "POST", `${ISSUER}/start`, { iat: iat() }) }
        : { authorization: `Bearer ${await clerk.token()}` },
      {},
    );
    if (started.status !== 200) return `/start answered ${started.status} ${JSON.stringify(started.body)}`;
    const sessionId = (started.body.session as { id: string }).id;
    // Every token handed out, by generation: what a tab stored or the attacker obtained.
    const tokens = new Map<number, string>([[0, started.body.refresh_token as string]]);
    for (const [index, step] of trace.steps.entries()) {
      clock = base + step.t * 1000;
      const token = tokens.get(step.g);
      if (token === undefined) return `step ${index}: generation ${step.g} was never handed out`;
      const signer = step.key ? (trace.bound ? owner : null) : step.who === ATTACKER && index % 2 === 1 ? thief : null;
      const headers: Record<string, string> = signer ? { dpop: await proof(signer, "POST", `${ISSUER}/refresh`, { iat: iat() }) } : {};
      const got = await post("/refresh", headers, { refresh_token: token });
      const want = EXPECTED[step.result];
      const [row] = await sql`select generation::int as generation, revoked_at is not null as revoked
        from sessionguard.families where id = ${sessionId}::uuid`;
      const where = `step ${index} (${describeStep(step)})`;
      if (got.status !== want.status || (want.error && got.body.error !== want.error)) {
        return `${where}: HTTP ${got.status} ${JSON.stringify(got.body.error ?? "")}`;
      }
      if (row.generation !== step.gen || row.revoked !== step.revoked) {
        return `${where}: family at ${row.generation}${row.revoked ? ", revoked" : ""}`;
      }
      if (step.answer !== null) {
        const successor = got.body.refresh_token as string;
        if (successor.split(".")[2] !== String(step.answer)) return `${where}: successor ${successor}`;
        const known = tokens.get(step.answer);
        if (known !== undefined && known !== successor) return `${where}: a second successor string`;
        tokens.set(step.answer, successor);
      }
    }
    return null;
  }

  it(`agree at every step on ${SAMPLE} simulations (first seed ${FIRST_SEED})`, async () => {
    const divergences: string[] = [];
    const results = new Set<string>();
    for (let i = 0; i < SAMPLE; i++) {
      const trace = parseTrace(`simulation seed ${FIRST_SEED + i}`, await simulate(ws, FIRST_SEED + i));
      for (const step of trace.steps) results.add(step.result);
      const d = await replayHttp(trace);
      if (d) divergences.push(`${trace.source}: ${d}`);
    }
    expect(divergences).toEqual([]);
    expect([...results].sort()).toEqual(expect.arrayContaining(["grace", "reused", "rotated"]));
  }, 300_000);
});
