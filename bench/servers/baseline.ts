/**
 * The HTTP baseline, run by Deno: a bare `Deno.serve` that reads the request
 * body and answers after one `select 1` through postgres.js, with the very
 * pool settings the session function uses (functions/store.ts). With
 * BENCH_BASELINE=bare it skips the query, which measures HTTP alone.
 */
import { openDatabase } from "../../functions/store.ts";

const databaseUrl = Deno.env.get("DATABASE_URL");
if (!databaseUrl) {
  console.error("baseline: DATABASE_URL is required");
  Deno.exit(1);
}
const bare = Deno.env.get("BENCH_BASELINE") === "bare";
const sql = openDatabase(databaseUrl);
if (!bare) await sql`select 1`;

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: ({ hostname, port }) => console.log(`baseline: listening on http://${hostname}:${port}`),
}, async (request) => {
  await request.text();
  if (!bare) await sql`select 1`;
  return Response.json({ ok: true });
});

const stop = async () => {
  await server.shutdown();
  await sql.end({ timeout: 5 });
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
