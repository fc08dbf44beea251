/**
 * The local gateway `npm start` runs in one Deno process: what `supabase start`'s
 * gateway does for functions, plus the devices page and, in local development
 * only, the development issuer.
 *
 *   /functions/v1/session/...       the real session function (createSessionFunction)
 *   /functions/v1/clerk-webhook/... the clerk-webhook function (createClerkWebhookFunction)
 *   /dev/...                        the LOCAL DEVELOPMENT ISSUER — only with SG_DEV_ISSUER_JWK
 *   /rest/v1/...                    the LOCAL DATA API STAND-IN (dev/data-api/), or a real
 *                                   Data API (SG_DATA_API_UPSTREAM); SG_DATA_API=off: none
 *   /realtime/v1/websocket          the LOCAL REALTIME STAND-IN (dev/realtime-standin.ts),
 *                                   private broadcast channels, where the database has the
 *                                   realtime schema (npm start adds it); SG_REALTIME=off: none
 *   /...                            the devices page from web/
 *
 * Never deployed: it lives in dev/, and nothing under supabase/functions imports it.
 *
 * Settings: every function setting from the environment, plus
 *   SG_GATEWAY_HOST, SG_GATEWAY_PORT  where to listen (127.0.0.1:54321)
 *   SG_PUBLIC_URL                     the origin clients use (http://127.0.0.1:54321)
 *   SG_DEV_ISSUER_JWK                 RS256 private JWK: turns the development issuer on
 *   SG_WEB_PAGE_DIR                   the devices page's build (web/build.ts; npm start builds it)
 *   SG_EXIT_ON_STDIN_EOF=1            stop when stdin closes (the parent died)
 *   SG_LISTEN_ON_STDIN=1              prepare everything, but bind the port only when the
 *                                     parent writes "listen" on stdin (the database is
 *                                     migrated): a client polling the port never meets a
 *                                     stack that is still starting
 *
 * Every request must name a loopback host (`Host: localhost`, `127.0.0.1`, ...); any
 * other answers 400, so a DNS-rebinding page cannot use the stack (dev/loopback.ts).
 *   CLERK_PUBLISHABLE_KEY             lets the page sign in with a real Clerk instance
 */
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import postgres from "postgres";
import { ApiError, errorResponse, respondToError } from "../functions/errors.ts";
import { createClerkWebhookFunction } from "../supabase/functions/clerk-webhook/index.ts";
import { createSessionFunction } from "../supabase/functions/session/index.ts";
import { createWebHandler } from "../web/server.ts";
import { createDevIssuer, DEV_ISSUER_LABEL, type DevIssuer } from "./dev-issuer.ts";
import { foreignHostResponse, hasLoopbackHost, isLocalDatabaseUrl } from "./loopback.ts";
import { mountDataApi } from "./data-api/mount.ts";
import { createRealtimeHandler, type RealtimeHandler } from "./realtime-standin.ts";

if ("EdgeRuntime" in globalThis) {
  // Belt and braces: this file is never deployed, and must not run if it ever were.
  console.error("gateway: the local gateway does not run in Supabase's Edge Runtime");
  Deno.exit(1);
}

const env = Deno.env.toObject();
const host = env.SG_GATEWAY_HOST ?? "127.0.0.1";
const port = Number(env.SG_GATEWAY_PORT ?? 54321);
const publicUrl = (env.SG_PUBLIC_URL ?? `http://${host}:${port}`).replace(/\/+$/, "");
const sessionUrl = `${publicUrl}/functions/v1/session`;

/** What the functions see: the environment without the gateway's own settings. */
const functionEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("SG_")));

function fail(message: string): never {
  console.error(`gateway: cannot start: ${message}`);
  Deno.exit(1);
}

const session = await createSessionFunction(functionEnv).catch((error) => fail(`session: ${error.message}`));
const webhook = mountClerkWebhook();
const devIssuer = await mountDevIssuer();
const web = mountWeb(devIssuer);
const dataApi = await mountDataApi(env, (line) => console.log(`gateway: ${line}`))
  .catch((error) => fail(`data api: ${error.message}`));
if (dataApi) console.log(`gateway: ${dataApi.label} is on at ${publicUrl}/rest/v1`);
const realtime = mountRealtime();

function mountClerkWebhook(): ReturnType<typeof createClerkWebhookFunction> {
  try {
    return createClerkWebhookFunction(functionEnv);
  } catch (error) {
    fail(`clerk-webhook: ${(error as Error).message}`);
  }
}

async function mountDevIssuer(): Promise<DevIssuer | null> {
  if (!env.SG_DEV_ISSUER_JWK) return null;
  if (env.CLERK_ISSUER !== `${publicUrl}/dev/clerk`) {
    fail("SG_DEV_ISSUER_JWK is set but CLERK_ISSUER does not name the development issuer");
  }
  // It signs tokens for any user: never next to a database that is not on this machine.
  if (!isLocalDatabaseUrl(env.DATABASE_URL ?? env.SUPABASE_DB_URL ?? "")) {
    fail("the local development issuer runs only with a database on this machine (DATABASE_URL)");
  }
  const issuer = await createDevIssuer({
    origin: publicUrl,
    privateJwk: JSON.parse(env.SG_DEV_ISSUER_JWK),
    authorizedParties: (env.CLERK_AUTHORIZED_PARTIES ?? publicUrl).split(",").map((party) => party.trim()),
    log: (line) => console.log(`gateway: ${line}`),
  });
  console.log(`gateway: ${DEV_ISSUER_LABEL} is on at ${issuer.issuer}`);
  return issuer;
}

/** The devices page (web/server.ts) at the origin's root. */
function mountWeb(issuer: DevIssuer | null): ReturnType<typeof createWebHandler> {
  const clerk = !issuer && env.CLERK_PUBLISHABLE_KEY && env.CLERK_ISSUER
    ? { publishableKey: env.CLERK_PUBLISHABLE_KEY, frontendApi: env.CLERK_ISSUER }
    : undefined;
  return createWebHandler({ sessionUrl, devTokenUrl: issuer?.tokenUrl, clerk, pageDir: env.SG_WEB_PAGE_DIR });
}

/**
 * The Realtime stand-in, made on the first websocket request: the gateway is prepared
 * before the database has its schema. Tokens are checked against the session function's
 * own key set, read in-process. Null when SG_REALTIME=off or there is no database here.
 */
function mountRealtime(): { handle(request: Request): Promise<Response | null>; close(): Promise<void> } | null {
  const url = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  if (env.SG_REALTIME === "off" || !url || !isLocalDatabaseUrl(url)) return null;
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  let made: Promise<RealtimeHandler | null> | undefined;
  const make = async (): Promise<RealtimeHandler | null> => {
    const [row] = await sql`select to_regclass('realtime.messages') is not null as present`;
    if (!row?.present) {
      console.log("gateway: no realtime schema in the database: the Realtime stand-in is off");
      return null;
    }
    const jwks = await session.handler(new Request(`${sessionUrl}/.well-known/jwks.json`));
    const handler = await createRealtimeHandler({ sql, key: createLocalJWKSet(await jwks.json() as JSONWebKeySet) });
    console.log(`gateway: LOCAL REALTIME STAND-IN (not Supabase Realtime) is on at ${publicUrl}/realtime/v1`);
    return handler;
  };
  return {
    async handle(request) {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return null;
      made ??= make().catch((error) => {
        made = undefined;
        throw error;
      });
      return (await made)?.handle(request) ?? null;
    },
    async close() {
      await (await made?.catch(() => null))?.close();
      await sql.end({ timeout: 1 });
    },
  };
}

/** The functions' own 404 (functions/errors.ts), for paths nothing here serves. */
function notFound(): Response {
  return errorResponse(new ApiError("not_found"));
}

function under(pathname: string, mount: string): boolean {
  return pathname === mount || pathname.startsWith(`${mount}/`);
}

/**
 * Like Supabase's gateway, tell the function who the client is: the peer address is
 * appended to any X-Forwarded-For the client sent.
 */
function forwarded(request: Request, info: Deno.ServeHandlerInfo): Request {
  const peer = (info.remoteAddr as Deno.NetAddr).hostname;
  const headers = new Headers(request.headers);
  const previous = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", previous ? `${previous}, ${peer}` : peer);
  // As hosted Supabase's Cloudflare front does: the connecting address, whatever the
  // client sent (the default SESSION_CLIENT_IP reads it).
  headers.set("cf-connecting-ip", peer);
  // A new request from the parts, not `new Request(request, …)`: copying the request
  // copies its signal, and Deno 2.9 then warns that the signal of a served request aborts
  // on success (its legacy behaviour) on the first request of every `npm start`.
  return new Request(request.url, { method: request.method, headers, body: request.body });
}

async function route(request: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  if (!hasLoopbackHost(request)) return foreignHostResponse();
  const { pathname } = new URL(request.url);
  if (under(pathname, "/functions/v1/session")) return await session.handler(forwarded(request, info));
  if (under(pathname, "/functions/v1/clerk-webhook")) return await webhook.handler(forwarded(request, info));
  if (under(pathname, "/functions/v1")) return notFound();
  if (under(pathname, "/rest/v1")) return (dataApi && (await dataApi.handle(request))) ?? notFound();
  if (pathname === "/realtime/v1/websocket") return (realtime && (await realtime.handle(request))) ?? notFound();
  if (under(pathname, "/dev")) return (devIssuer && (await devIssuer.handle(request))) ?? notFound();
  return (await web(request)) ?? notFound();
}

/** Lines from the parent on stdin ("listen"), and its end (the parent is gone). */
const parent = watchStdin();

if (env.SG_LISTEN_ON_STDIN === "1") {
  console.log("gateway: prepared, waiting for the database");
  if (!(await parent.listen)) Deno.exit(0); // the parent went away before the stack was ready
}

const server = Deno.serve({
  hostname: host,
  port,
  onListen: ({ hostname, port }) => console.log(`gateway: listening on http://${hostname}:${port}`),
}, async (request, info) => {
  try {
    return await route(request, info);
  } catch (error) {
    // The functions' error wrapper: the API's error answer, and one log line with the detail.
    const where = `${request.method} ${new URL(request.url).pathname}`;
    return respondToError(
      error,
      ({ code, detail }) => console.error(`gateway: ${where}: ${code}: ${detail}`),
    );
  }
});

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  return stopping ??= (async () => {
    // In-flight requests finish; a stuck one does not hold the stack up.
    const deadline = setTimeout(() => Deno.exit(0), 3_000);
    await server.shutdown();
    await Promise.allSettled([session.close(), webhook.close(), dataApi?.close(), realtime?.close()]);
    clearTimeout(deadline);
    Deno.exit(0);
  })();
}
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);

// npm start holds our stdin open: when it dies without stopping us (SIGKILL), stdin
// closes and the gateway goes too, so no orphan keeps the port.
if (env.SG_EXIT_ON_STDIN_EOF === "1") void parent.ended.then(stop);

function watchStdin(): { listen: Promise<boolean>; ended: Promise<void> } {
  const wanted = env.SG_LISTEN_ON_STDIN === "1" || env.SG_EXIT_ON_STDIN_EOF === "1";
  if (!wanted) return { listen: Promise.resolve(true), ended: new Promise(() => {}) };
  let told: (go: boolean) => void = () => {};
  const listen = new Promise<boolean>((resolve) => (told = resolve));
  const ended = (async () => {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(256);
    let text = "";
    for (;;) {
      const read = await Deno.stdin.read(buffer);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
      if (/(^|\n)listen\n/.test(text)) told(true);
      text = text.slice(-16);
    }
    told(false);
  })();
  return { listen, ended };
}
