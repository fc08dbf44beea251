/**
 * Evaluated before an entrypoint (imported first by the main module ./deployed.ts
 * writes) to give it what Supabase's Edge Runtime gives a user function, as far as our
 * entrypoints can tell:
 *
 * - a global `EdgeRuntime` with `waitUntil` (supabase/edge-runtime,
 *   `ext/runtime/js/namespaces.js`, `installEdgeRuntimeNamespace`);
 * - `Deno.exit`, `Deno.kill`, `Deno.addSignalListener` and `Deno.removeSignalListener`
 *   replaced by functions that do nothing (`ext/runtime/js/bootstrap.js`,
 *   `apisToBeOverridden`, value "mock", at commit cba0f4e5);
 * - `Deno.serve(handler)` with no address: the runtime, not the function, owns the
 *   listener. Here it listens on EDGE_TEST_PORT (127.0.0.1) and prints
 *   "edge: listening on <url>" so the test knows where.
 *
 * Test-only: it never runs next to a deployed function. Plain JavaScript, so the
 * Node typecheck of tests/ leaves this Deno file alone.
 */
const deno = Deno;
for (const name of ["exit", "kill", "addSignalListener", "removeSignalListener"]) deno[name] = () => {};

globalThis.EdgeRuntime = {
  waitUntil(work) {
    void work.catch(() => {});
  },
};

const serve = Deno.serve.bind(Deno);
deno.serve = (handler) => {
  if (typeof handler !== "function") throw new TypeError("edge test: expected Deno.serve(handler)");
  return serve({
    hostname: "127.0.0.1",
    port: Number(Deno.env.get("EDGE_TEST_PORT") ?? 0),
    onListen: ({ hostname, port }) => console.log(`edge: listening on http://${hostname}:${port}`),
  }, handler);
};
