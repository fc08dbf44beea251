/**
 * `npm run example`: the example's Vite dev server, proxied to `npm start`'s stack
 * (SG_STACK_URL, default http://127.0.0.1:54321). Start the stack first, in another
 * terminal. SG_EXAMPLE_PORT picks the port (default 5173; 0 for any free one).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
const stack = (process.env.SG_STACK_URL ?? "http://127.0.0.1:54321").replace(/\/+$/, "");

try {
  const res = await fetch(`${stack}/functions/v1/session/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(3000),
  });
  if (!res.ok) throw new Error(`answered ${res.status}`);
} catch (err) {
  console.warn(
    `example: no sessionguard stack answers at ${stack} (${(err as Error).message}).\n` +
      "         Run `npm start` in another terminal (or set SG_STACK_URL); the page will work once it is up.",
  );
}

const server = await createServer({ configFile: path.join(here, "vite.config.ts") });
await server.listen();
const url = server.resolvedUrls?.local[0] ?? "";
console.log(`\nexample: React + sessionguard at ${url}  (session API proxied to ${stack})\n`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void server.close().then(() => process.exit(0)));
}
