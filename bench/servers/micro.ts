/**
 * Micro-measurements of what one refresh is made of, run by Deno with the
 * session function's own code: the refresh-token MAC (functions/refresh-token.ts),
 * the access-token signature (functions/access-token.ts, ES256 as configured,
 * plus HS256 and Ed25519 for comparison) and the SQL round trip of a rotation
 * (functions/store.ts on a durable database, one at a time: refreshSession
 * when the store has it, else rotateSession).
 *
 * Env: the session function's settings plus BENCH_ITERATIONS; prints one line
 * `micro: <json>` with microseconds per operation.
 */
import { SignJWT } from "jose";
import { createAccessTokens } from "../../functions/access-token.ts";
import { parseConfig } from "../../functions/config.ts";
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import { createStore, openDatabase } from "../../functions/store.ts";

const env = Deno.env.toObject();
const iterations = Number(env.BENCH_ITERATIONS ?? 1000);
const config = parseConfig(env);
const accessTokens = await createAccessTokens(config);
const refreshTokens = await createRefreshTokens(config.refreshSecrets, config.session.issuer);
const hs256Tokens = await createAccessTokens(
  parseConfig({
    ...env,
    SESSION_SIGNING_JWK: undefined,
    SESSION_JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
  }),
);

interface Timing {
  mean: number;
  p50: number;
  p99: number;
}

/** Runs `op` sequentially after a warm-up; microseconds per call. */
async function time(op: (i: number) => Promise<unknown>, n = iterations): Promise<Timing> {
  for (let i = 0; i < Math.max(10, n / 10); i++) await op(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await op(i);
    samples.push((performance.now() - started) * 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))];
  return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, p50: at(50), p99: at(99) };
}

const family = crypto.randomUUID();
const sample = await refreshTokens.mint(family, 41);
const claimsInput = { userId: "user_2bench0000000000000000000", sessionId: family };

const macMint = await time((i) => refreshTokens.mint(family, i));
const macVerify = await time(() => refreshTokens.verify(sample));
const es256 = await time(() => accessTokens.sign({ ...claimsInput, now: new Date() }));
const hs256 = await time(() => hs256Tokens.sign({ ...claimsInput, now: new Date() }));
const edKey = await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const ed25519 = await time(() =>
  new SignJWT({ iss: config.session.issuer, sub: claimsInput.userId, sid: family, role: "authenticated" })
    .setProtectedHeader({ alg: "EdDSA", kid: "bench", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime("10m")
    .setAudience("authenticated")
    .sign(edKey.privateKey)
);
const json = await time(async () => {
  const body = JSON.parse(`{"refresh_token":"${sample}"}`);
  return JSON.stringify({
    access_token: "x".repeat(600),
    refresh_token: body.refresh_token,
    token_type: "bearer",
  });
});

// The SQL round trip of a refresh: the store's rotateSession, one call at a time.
const sql = openDatabase(config.databaseUrl);
const store = createStore(sql);
const facts = { ip: "203.0.113.7", userAgent: "sessionguard-bench/1" };
const families: { id: string; generation: number }[] = [];
for (let i = 0; i < 64; i++) {
  const started = await store.startSession({
    ...facts,
    now: new Date(),
    userId: `user_micro_${i}`,
    clerkSessionId: `sess_micro_${i}`,
    deviceName: "bench",
    idleTimeout: config.session.idleTimeout,
    absoluteLifetime: config.session.absoluteLifetime,
    dpopJkt: null,
  });
  families.push({ id: started.sessionId, generation: started.generation });
}
// The store's one-round-trip refresh (refresh_session, rate limits off), or its older rotateSession.
type Refresh = (input: Record<string, unknown>) => Promise<{ result: string; generation: number }>;
const methods = store as unknown as Record<string, Refresh | undefined>;
const storeMethod = methods.refreshSession ? "refreshSession" : "rotateSession";
const refreshOnce = methods[storeMethod];
if (!refreshOnce) throw new Error("the store has neither refreshSession nor rotateSession");
const rotate = await time(async (i) => {
  const current = families[i % families.length];
  const rotated = await refreshOnce.call(store, {
    ...facts,
    now: new Date(),
    sessionId: current.id,
    generation: current.generation,
    idleTimeout: config.session.idleTimeout,
    reuseGrace: config.session.reuseGrace,
    theftScope: config.session.theftScope,
    dpopJkt: null,
    dpopJti: null,
    rateLimit: null,
    ipRateLimit: null,
  });
  if (rotated.result !== "rotated") throw new Error(`rotation answered ${rotated.result}`);
  current.generation = rotated.generation;
});
const selectOne = await time(() => sql`select 1`);
await sql.end({ timeout: 5 });

console.log(
  `micro: ${
    JSON.stringify({
      iterations,
      storeMethod,
      macMint,
      macVerify,
      es256,
      hs256,
      ed25519,
      json,
      rotate,
      selectOne,
    })
  }`,
);
