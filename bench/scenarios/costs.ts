/**
 * Scenario 8: the cost of one refresh broken down, measured in the same run: HTTP (a
 * bare Deno.serve), the refresh-token MAC, the SQL round trip of the rotation and the
 * access-token signature (micro-measured in Deno with the function's own code,
 * bench/servers/micro.ts).
 */
import path from "node:path";
import { DENO, launch, repoRoot } from "../../scripts/lib/process.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import type { Context } from "../lib/context.ts";
import { measure } from "../lib/load.ts";
import { progress } from "../lib/log.ts";
import type { CostsResult } from "../lib/results.ts";
import { startBaseline } from "../lib/targets.ts";

export async function runCosts({ db, scale }: Context): Promise<CostsResult> {
  progress("costs", `micro-measuring MAC, signatures and the rotation round trip (${scale.microIterations} each)`);
  const micro = launch({
    command: DENO,
    args: ["run", "-A", "--quiet", path.join(repoRoot, "bench", "servers", "micro.ts")],
    env: {
      DATABASE_URL: db.url,
      CLERK_ISSUER: "http://127.0.0.1:9",
      SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      BENCH_ITERATIONS: String(scale.microIterations),
    },
  });
  const code = await micro.exited;
  const line = /^micro: (.*)$/m.exec(micro.output())?.[1];
  if (code !== 0 || !line) throw new Error(`micro.ts exited with ${code} and no result:\n${micro.output()}`);
  const m = JSON.parse(line) as CostsResult["micro"];
  const us = (n: number, digits = 0) => `${n.toFixed(digits)} µs`;
  progress(
    "costs",
    `MAC mint ${us(m.macMint.mean, 1)}, verify ${us(m.macVerify.mean, 1)}, ES256 noble ${us(m.es256Noble.mean)} vs ` +
      `WebCrypto ${us(m.es256Webcrypto.mean)}, HS256 ${us(m.hs256.mean, 1)}, Ed25519 ${us(m.ed25519.mean, 1)}, ` +
      `rotation ${us(m.rotate.mean)} (prepared ${us(m.rotatePrepared.mean)})`,
  );

  progress("costs", "bare Deno.serve (no database) at 1 and 32 connections");
  const bare = await startBaseline(db.url, { bare: true });
  try {
    const run = async (connections: number, seconds: number) =>
      await measure(bare, await bare.tokens(connections), connections, seconds, db);
    await run(8, scale.warmupSeconds);
    const one = await run(1, scale.httpSeconds);
    const many = await run(32, scale.httpSeconds);
    progress("costs", `bare HTTP: p50 ${one.latencyMs.p50.toFixed(3)} ms at 1 connection, ${Math.round(many.rps)} req/s at 32`);
    return { micro: m, bareHttp: { one, many } };
  } finally {
    await bare.stop();
  }
}
