/**
 * Micro-measurements of what one refresh is made of, run by Deno with the session
 * function's own code: the refresh-token MAC, the access-token signature (ES256 as
 * configured and with each implementation alternated, HS256 and Ed25519 for
 * comparison) and the store's refreshSession round trip on a durable database, with
 * prepared statements on and off. Every operation reports CPU per call beside wall time.
 *
 * Env: the session function's settings plus BENCH_ITERATIONS; prints one line
 * `micro: <json>` (results.ts `CostsResult["micro"]`).
 */
import process from "node:process";
import { SignJWT } from "jose";
import { createAccessTokens } from "../../functions/access-token.ts";
import { parseConfig } from "../../functions/config.ts";
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import { createStore, openDatabase, type RefreshPolicy } from "../../functions/store.ts";
import type { Timing } from "../lib/results.ts";

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


/** Runs `op` sequentially after a warm-up; microseconds per call. */
async function time(op: (i: number) => Promise<unknown>, n = iterations): Promise<Timing> {
  for (let i = 0; i < Math.max(10, n / 10); i++) await op(i);
  const samples: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await op(i);
    samples.push((performance.now() - started) * 1000);
  }
  const cpuUsed = process.cpuUsage(cpuBefore);
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))];
  return {
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50: at(50),
    p99: at(99),
    cpu: (cpuUsed.user + cpuUsed.system) / n,
  };
}

const family = crypto.randomUUID();
const sample = await refreshTokens.mint(family, 41);
const claimsInput = { userId: "user_2bench0000000000000000000", sessionId: family };

const macMint = await time((i) => refreshTokens.mint(family, i));
const macVerify = await time(() => refreshTokens.verify(sample));
const es256 = await time(() => accessTokens.sign({ ...claimsInput, now: new Date() }));
// Each ES256 implementation, alternated in two halves so drift falls on both alike.
const signers = {
  noble: await createAccessTokens(parseConfig({ ...env, SESSION_SIGNER: "noble" })),
  webcrypto: await createAccessTokens(parseConfig({ ...env, SESSION_SIGNER: "webcrypto" })),
};
const half = Math.max(50, Math.floor(iterations / 2));
const signTimes = { noble: [] as Timing[], webcrypto: [] as Timing[] };
for (const name of ["noble", "webcrypto", "webcrypto", "noble"] as const) {
  signTimes[name].push(await time(() => signers[name].sign({ ...claimsInput, now: new Date() }), half));
}
const merge = ([a, b]: Timing[]): Timing => ({
  mean: (a.mean + b.mean) / 2,
  p50: (a.p50 + b.p50) / 2,
  p99: Math.max(a.p99, b.p99),
  cpu: (a.cpu + b.cpu) / 2,
});
const es256Noble = merge(signTimes.noble);
const es256Webcrypto = merge(signTimes.webcrypto);
const hs256 = await time(() => hs256Tokens.sign({ ...claimsInput, now: new Date() }));
const edKey = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]) as CryptoKeyPair;
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

// The SQL round trip of a refresh: the store's refreshSession, one call at a time,
// with prepared statements on and off (SESSION_DB_PREPARE), alternated.
const facts = { ip: "203.0.113.7", userAgent: "sessionguard-bench/1" };
const pools = {
  prepared: openDatabase(config.databaseUrl, { prepare: true }),
  unprepared: openDatabase(config.databaseUrl, { prepare: false }),
};
const stores = { prepared: createStore(pools.prepared), unprepared: createStore(pools.unprepared) };
const store = stores.unprepared;
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
  if (started.result !== "started") throw new Error(`start_session answered ${started.result}`);
  families.push({ id: started.sessionId, generation: started.generation });
}
let turn = 0;
/** The refresh route's policy with the default session settings and rate limits off (SESSION_RATE_LIMITS=off). */
const POLICY: RefreshPolicy = {
  idle_timeout: config.session.idleTimeout,
  reuse_grace: config.session.reuseGrace,
  theft_scope: config.session.theftScope,
  dpop_lifetime: 300,
  dpop_mismatch: "refuse",
  rate_limit: null,
  ip_rate_limit: null,
};
/** Rotates one family through the chosen pool and remembers its new generation. */
const rotateFamily = (which: keyof typeof stores) => async (i: number) => {
  const current = families[i];
  const rotated = await stores[which].refreshSession({
    ...facts,
    now: new Date(),
    sessionId: current.id,
    generation: current.generation,
    policy: POLICY,
    dpopJkt: null,
    dpopJti: null,
  });
  if (rotated.result !== "rotated") throw new Error(`rotation answered ${rotated.result}`);
  current.generation = rotated.generation;
};
const rotateWith = (which: keyof typeof stores) => () => rotateFamily(which)(turn++ % families.length);
const rotateTimes = { prepared: [] as Timing[], unprepared: [] as Timing[] };
for (const which of ["unprepared", "prepared", "prepared", "unprepared"] as const) {
  rotateTimes[which].push(await time(rotateWith(which), half));
}
/**
 * CPU per call with the event loop kept busy: `width` calls at once, `rounds`
 * times. One call at a time, each wake-up after a multi-millisecond durable
 * commit costs the event loop about as much CPU as the call itself, which
 * would be charged to the query; under load the loop never idles.
 */
async function cpuBusy(op: (i: number) => Promise<unknown>, width: number, rounds: number): Promise<number> {
  await Promise.all(Array.from({ length: width }, (_, i) => op(i)));
  const before = process.cpuUsage();
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: width }, (_, i) => op(i)));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (width * rounds);
}
const busyRounds = Math.max(5, Math.floor(iterations / 64));
/** Client CPU per call, µs, with 64 calls in flight (scenario 11's postgres.js share). */
const clientCpuBusy = {
  rotatePrepared: await cpuBusy(rotateFamily("prepared"), families.length, busyRounds),
  rotateUnprepared: await cpuBusy(rotateFamily("unprepared"), families.length, busyRounds),
  selectOnePrepared: await cpuBusy(() => pools.prepared`select 1`, families.length, busyRounds),
  selectOneUnprepared: await cpuBusy(() => pools.unprepared`select 1`, families.length, busyRounds),
};
const rotate = merge(rotateTimes.unprepared);
const rotatePrepared = merge(rotateTimes.prepared);
const selectOne = await time(() => pools.unprepared`select 1`);
const selectOnePrepared = await time(() => pools.prepared`select 1`);
await Promise.all([pools.prepared.end({ timeout: 5 }), pools.unprepared.end({ timeout: 5 })]);

const result = { iterations, storeMethod: "refreshSession", macMint, macVerify, es256, es256Noble, es256Webcrypto };
console.log(`micro: ${JSON.stringify({ ...result, hs256, ed25519, json, rotate, rotatePrepared, selectOne, selectOnePrepared, clientCpuBusy })}`);
