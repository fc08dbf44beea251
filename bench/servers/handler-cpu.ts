/**
 * CPU per refresh of the session function's handler called in-process, no
 * HTTP server in between: each checkout named in BENCH_ROOTS (comma-separated)
 * builds its handler with `createSessionFunction` from the same settings, and
 * they take turns, batch by batch, refreshing their own live sessions with
 * BENCH_WIDTH requests in flight. One process, one database, many short
 * alternations: the drift of a shared machine falls on every checkout alike,
 * which loaded HTTP runs cannot promise (bench/compare.ts).
 *
 * Env: the session function's settings plus BENCH_ROOTS, BENCH_BATCHES,
 * BENCH_WIDTH, BENCH_ROUNDS; prints one line `handler-cpu: <json>` with, per
 * checkout, the CPU µs per refresh of each batch (process and JavaScript thread).
 */
import process from "node:process";

const env = Deno.env.toObject();
const roots = (env.BENCH_ROOTS ?? "").split(",").filter(Boolean);
const batches = Number(env.BENCH_BATCHES ?? 20);
const width = Number(env.BENCH_WIDTH ?? 32);
const rounds = Number(env.BENCH_ROUNDS ?? 10);
if (roots.length === 0) throw new Error("BENCH_ROOTS names no checkout");

/** CPU ms of this process's main thread, from /proc (clock ticks of 10 ms). */
function mainThreadMs(): number {
  const stat = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Variant {
  readonly root: string;
  readonly handler: (request: Request) => Promise<Response>;
  readonly tokens: string[];
  close(): Promise<void>;
  readonly cpu: number[];
  readonly thread: number[];
}

const request = (token: string) =>
  new Request("http://localhost/functions/v1/session/refresh", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": "203.0.113.7",
      "user-agent": "sessionguard-bench/1",
    },
    body: JSON.stringify({ refresh_token: token }),
  });

const variants: Variant[] = [];
for (const root of roots) {
  const { createSessionFunction } = await import(`${root}/supabase/functions/session/index.ts`);
  const { createStore, openDatabase } = await import(`${root}/functions/store.ts`);
  const { createRefreshTokens } = await import(`${root}/functions/refresh-token.ts`);
  const fn = await createSessionFunction(env);
  // Sessions started in the database directly, their first tokens minted with the same secret.
  const sql = openDatabase(fn.config.databaseUrl);
  const store = createStore(sql);
  const minter = await createRefreshTokens(fn.config.refreshSecrets, fn.config.session.issuer);
  const tokens: string[] = [];
  for (let i = 0; i < width; i++) {
    const started = await store.startSession({
      ip: "203.0.113.7",
      userAgent: "bench",
      now: new Date(),
      userId: `user_cpu_${variants.length}_${i}`,
      clerkSessionId: `sess_cpu_${variants.length}_${i}`,
      deviceName: "bench",
      idleTimeout: fn.config.session.idleTimeout,
      absoluteLifetime: fn.config.session.absoluteLifetime,
      dpopJkt: null,
    });
    tokens.push(await minter.mint(started.sessionId, started.generation));
  }
  await sql.end({ timeout: 5 });
  variants.push({ root, handler: fn.handler, tokens, close: () => fn.close(), cpu: [], thread: [] });
}

/** `rounds` refreshes of each of the variant's `width` sessions, all in flight at once. */
async function batch(v: Variant): Promise<void> {
  await Promise.all(v.tokens.map(async (_, slot) => {
    for (let r = 0; r < rounds; r++) {
      const response = await v.handler(request(v.tokens[slot]));
      const body = await response.json() as { refresh_token?: string; error?: string };
      if (response.status !== 200 || !body.refresh_token) {
        throw new Error(`${v.root}: refresh answered ${response.status} ${JSON.stringify(body)}`);
      }
      v.tokens[slot] = body.refresh_token;
    }
  }));
}

for (const v of variants) await batch(v); // warm-up
for (let b = 0; b < batches; b++) {
  const order = b % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const cpu0 = process.cpuUsage();
    const thread0 = mainThreadMs();
    await batch(v);
    const cpu = process.cpuUsage(cpu0);
    const n = width * rounds;
    v.cpu.push((cpu.user + cpu.system) / n);
    v.thread.push(((mainThreadMs() - thread0) * 1000) / n);
  }
}
await Promise.all(variants.map((v) => v.close()));
console.log(`handler-cpu: ${JSON.stringify(variants.map(({ root, cpu, thread }) => ({ root, cpu, thread })))}`);
