/**
 * What a refresh costs: N sequential refreshes against the real Deno server
 * and Postgres, one client, keep-alive. Prints percentiles; asserts nothing.
 *
 *   npx tsx scripts/measure-refresh.ts [count=500]
 *
 * Uses DATABASE_URL when set (migrations already applied), else starts an
 * ephemeral PostgreSQL 17 with scripts/lib/local-postgres.ts.
 */
import { performance } from "node:perf_hooks";
import { startDatabase } from "./lib/local-postgres.ts";
import { startClerkIssuer } from "./lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "./lib/throwaway-keys.ts";
import { startSessionServer } from "./lib/session-server.ts";

const count = Number(process.argv[2] ?? 500);
const db = await startDatabase({ name: "measure", ephemeral: true });
const clerk = await startClerkIssuer();
const server = await startSessionServer({
  CLERK_ISSUER: clerk.issuer,
  SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
  SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
  SESSION_REFRESH_SECRET: refreshSecret(),
  DATABASE_URL: db.url,
});

try {
  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(server.url + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return await response.json();
  };

  let current = await post("/start", {}, await clerk.token());
  for (let i = 0; i < 50; i++) current = await post("/refresh", { refresh_token: current.refresh_token }); // warm-up

  const samples: number[] = [];
  const began = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    current = await post("/refresh", { refresh_token: current.refresh_token });
    samples.push(performance.now() - t);
  }
  const total = performance.now() - began;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))].toFixed(2);
  console.log(
    `${count} sequential refreshes: mean ${(total / count).toFixed(2)} ms, p50 ${at(0.5)} ms, p90 ${
      at(0.9)
    } ms, ` +
      `p99 ${at(0.99)} ms, max ${at(1)} ms (${(count / (total / 1000)).toFixed(0)}/s, one client), ` +
      `PostgreSQL ${db.version}`,
  );
} finally {
  await server.stop();
  await clerk.stop();
  await db.stop();
}
