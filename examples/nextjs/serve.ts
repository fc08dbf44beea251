/**
 * `npm run example:next`: the Next.js example next to `npm start`'s stack (SG_STACK_URL,
 * default http://127.0.0.1:54321). Makes the server's DPoP key once (kept in
 * .local/nextjs-example/server-key.json, mode 600; local only) unless
 * SESSIONGUARD_SERVER_KEY is set, then runs `next dev` on SG_EXAMPLE_PORT (default 3000),
 * or `next build` + `next start` with `--prod`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateServerKeyJwk, importServerKey } from "../../packages/server/src/index.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const next = path.join(repo, "node_modules", ".bin", "next");
const stack = (process.env.SG_STACK_URL ?? "http://127.0.0.1:54321").replace(/\/+$/, "");
const port = process.env.SG_EXAMPLE_PORT ?? "3000";
const prod = process.argv.includes("--prod");

let serverKey = process.env.SESSIONGUARD_SERVER_KEY;
if (!serverKey) {
  const file = path.join(repo, ".local", "nextjs-example", "server-key.json");
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(await generateServerKeyJwk()), { mode: 0o600 });
  }
  serverKey = readFileSync(file, "utf8");
}

try {
  const res = await fetch(`${stack}/functions/v1/session/.well-known/openid-configuration`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`answered ${res.status}`);
} catch (err) {
  console.warn(
    `example:next: no sessionguard stack answers at ${stack} (${(err as Error).message}).\n` +
      "              Run `npm start` in another terminal (or set SG_STACK_URL); the app works once it is up.",
  );
}

const env = { ...process.env, SG_STACK_URL: stack, SESSIONGUARD_SERVER_KEY: serverKey, NEXT_TELEMETRY_DISABLED: "1" };
if (prod) {
  const build = spawnSync(next, ["build", here], { cwd: repo, env, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const { jkt } = await importServerKey(serverKey);
console.log(
  `\nexample:next: Next.js + sessionguard at http://127.0.0.1:${port}  (stack ${stack})\n` +
    `              server key ${jkt}: list it in the stack's SESSION_FORWARDING_KEYS (.env) to record browsers' addresses\n`,
);
const child = spawn(next, [prod ? "start" : "dev", here, "--port", port, "--hostname", "127.0.0.1"], {
  cwd: repo,
  env,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
