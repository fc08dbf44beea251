/**
 * npm run demo: a short walkthrough of rotation and theft detection in the terminal.
 *
 * Runs against the local stack at SG_URL (default http://127.0.0.1:$SG_PORT, port
 * 54321). When nothing answers there it starts the stack itself, as `npm start`
 * would, and stops it at the end. Clerk tokens come from the local development
 * issuer, or from DEMO_CLERK_TOKEN when the stack uses a real Clerk instance.
 *
 * Exits 0 when every step behaved as sessionguard promises, 1 otherwise.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_ISSUER_LABEL } from "../dev/dev-issuer.ts";
import { DEFAULT_PORT, type LocalStack, startLocalStack } from "./stack/stack.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Answer {
  status: number;
  body: any;
}

interface Tokens {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  session: { id: string };
  user_id: string;
}

const LAPTOP = "sessionguard-demo/1 (Laptop)";
const PHONE = "sessionguard-demo/1 (Phone)";
const ATTACKER = "sessionguard-demo/1 (someone else's machine)";

let failures = 0;
const say = (text = "") => console.log(text);
const step = (n: number, title: string) => say(`\n${n}. ${title}`);
const detail = (text: string) => say(`   ${text}`);
const short = (token: string) => `${token.slice(0, 18)}…`;
/** Refresh tokens share their prefix (key id, session id); the end tells them apart. */
const tail = (token: string) => `…${token.slice(-16)}`;

/** Records whether a step did what sessionguard promises. */
function expect(ok: boolean, what: string): void {
  if (ok) detail(`✓ ${what}`);
  else {
    failures++;
    detail(`✗ UNEXPECTED: ${what}`);
  }
}

async function call(
  base: string,
  method: string,
  route: string,
  options: { token?: string; json?: unknown; userAgent?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "user-agent": options.userAgent ?? LAPTOP };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${route}`, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function outcome(answer: Answer): string {
  return answer.status < 300 ? `${answer.status}` : `${answer.status} ${answer.body?.error}`;
}

async function reachable(origin: string): Promise<boolean> {
  try {
    const response = await fetch(`${origin}/functions/v1/session/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const origin = (process.env.SG_URL ?? `http://127.0.0.1:${process.env.SG_PORT ?? DEFAULT_PORT}`).replace(/\/+$/, "");
  let stack: LocalStack | undefined;
  if (!(await reachable(origin))) {
    say(`No local stack answers at ${origin}; starting one for this demo (it stops at the end)…`);
    stack = await startLocalStack({ root, progress: (line) => say(`  ${line}`) });
    const stop = () => void stack!.stop().then(() => process.exit(130));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
  const base = `${stack?.urls.origin ?? origin}`;
  const api = `${base}/functions/v1/session`;
  try {
    await walkthrough(base, api);
  } finally {
    await stack?.stop();
  }
}

async function walkthrough(base: string, api: string): Promise<void> {
  say(`sessionguard demo against ${api}`);

  step(1, "Sign in with Clerk (once): get a Clerk session token");
  let clerkToken = process.env.DEMO_CLERK_TOKEN;
  if (clerkToken) {
    detail("using DEMO_CLERK_TOKEN");
  } else {
    const user = `demo${randomBytes(3).toString("hex")}`;
    const answer = await call(base, "GET", `/dev/clerk-token?user=${user}`);
    if (answer.status !== 200) {
      throw new Error(
        `the local development issuer answered ${answer.status}: this stack uses a real Clerk instance; ` +
          "set DEMO_CLERK_TOKEN to a Clerk session token to run the demo against it",
      );
    }
    clerkToken = answer.body.token as string;
    const claims = JSON.parse(Buffer.from(clerkToken.split(".")[1]!, "base64url").toString());
    detail(`GET /dev/clerk-token → ${DEV_ISSUER_LABEL}`);
    detail(`Clerk-shaped token for ${claims.sub} (Clerk session ${claims.sid}, valid ${claims.exp - claims.iat} s)`);
  }

  step(2, "Start a sessionguard session on the laptop, and one on the phone");
  const started = await call(api, "POST", "/start", { token: clerkToken, json: { device_name: "Laptop" } });
  expect(started.status === 200, `POST /start → ${outcome(started)}`);
  if (started.status !== 200) throw new Error(`cannot continue: ${JSON.stringify(started.body)}`);
  const laptop = started.body as Tokens;
  detail(`session ${laptop.session.id} for ${laptop.user_id}`);
  detail(`access token ${short(laptop.access_token)} (expires in ${laptop.expires_in} s)`);
  detail(`refresh token #1 ${tail(laptop.refresh_token)}`);
  const phoneStart = await call(api, "POST", "/start", { token: clerkToken, json: { device_name: "Phone" }, userAgent: PHONE });
  expect(phoneStart.status === 200, `POST /start (phone) → ${outcome(phoneStart)}`);
  const phone = phoneStart.body as Tokens;

  step(3, "Refresh twice: every refresh returns a new one-time refresh token");
  const first = laptop.refresh_token;
  const r2 = await call(api, "POST", "/refresh", { json: { refresh_token: first } });
  expect(r2.status === 200 && r2.body.refresh_token !== first, `POST /refresh with #1 → ${outcome(r2)}, got #2`);
  const second = r2.body.refresh_token as string;
  const r3 = await call(api, "POST", "/refresh", { json: { refresh_token: second } });
  expect(r3.status === 200 && r3.body.refresh_token !== second, `POST /refresh with #2 → ${outcome(r3)}, got #3`);
  const third = r3.body.refresh_token as string;
  detail(`refresh token #3 ${tail(third)}; #1 and #2 are spent`);

  step(4, "A lost answer is not theft: #2 again, moments later, gets the same #3");
  const retry = await call(api, "POST", "/refresh", { json: { refresh_token: second } });
  if (retry.status === 200) {
    expect(retry.body.refresh_token === third, `POST /refresh with #2 → 200, the identical #3 (reuse grace window)`);
  } else {
    detail(`POST /refresh with #2 → ${outcome(retry)}: SESSION_REUSE_GRACE is 0 here, so any repeat is reuse`);
  }

  step(5, "Sessions of this user, as the laptop sees them");
  const accessToken = (retry.status === 200 ? retry.body : r3.body).access_token as string;
  const listed = await call(api, "GET", "/sessions", { token: accessToken });
  expect(listed.status === 200 && listed.body.sessions.length === 2, `GET /sessions → ${outcome(listed)}, 2 sessions`);
  for (const s of listed.body?.sessions ?? []) {
    detail(`  ${s.current ? "→" : " "} ${String(s.device_name).padEnd(8)} ${s.id}  ip ${s.ip ?? "-"}${s.current ? "  (this device)" : ""}`);
  }

  step(6, "An attacker replays the stolen refresh token #1");
  const replay = await call(api, "POST", "/refresh", { json: { refresh_token: first }, userAgent: ATTACKER });
  expect(
    replay.status === 401 && replay.body.error === "refresh_token_reused",
    `POST /refresh with #1 → ${outcome(replay)}: theft detected, the laptop's session is revoked`,
  );
  const after = await call(api, "POST", "/refresh", { json: { refresh_token: third } });
  expect(
    after.status === 401 && after.body.error === "session_revoked",
    `POST /refresh with #3 (the laptop's own) → ${outcome(after)}: the whole session is gone`,
  );
  const stale = await call(api, "GET", "/sessions", { token: accessToken });
  expect(stale.status === 401 && stale.body.error === "session_revoked", `GET /sessions with the laptop's unexpired access token → ${outcome(stale)}`);

  step(7, "The phone is still signed in and sees what happened");
  const phoneSessions = await call(api, "GET", "/sessions", { token: phone.access_token, userAgent: PHONE });
  expect(
    phoneSessions.status === 200 && phoneSessions.body.sessions.length === 1,
    `GET /sessions (phone) → ${outcome(phoneSessions)}, 1 session left`,
  );
  const events = await call(api, "GET", "/events", { token: phone.access_token, userAgent: PHONE });
  expect(events.status === 200, `GET /events (phone) → ${outcome(events)}, newest first:`);
  for (const e of events.body?.events ?? []) {
    detail(`  ${new Date(e.created_at * 1000).toISOString().slice(11, 19)}  ${String(e.type).padEnd(21)} ${e.description}`);
  }
  expect(
    (events.body?.events ?? []).some((e: { type: string }) => e.type === "refresh_token_reused"),
    "a refresh_token_reused security event was recorded",
  );
}

try {
  await main();
} catch (error) {
  failures++;
  console.error(`\ndemo failed: ${(error as Error).message}`);
}
say(
  failures === 0
    ? "\nDemo complete: rotation, grace, theft detection and revocation behaved as promised."
    : `\n${failures} step(s) did not behave as expected.`,
);
process.exit(failures === 0 ? 0 : 1);
