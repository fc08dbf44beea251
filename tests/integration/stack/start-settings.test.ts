/**
 * `npm start` as a user runs it with a `.env`: every setting the functions read reaches
 * them (the security webhook fires on theft, signed), a name nothing reads is warned
 * about, the ready banner's hints name the ports the stack really uses, and a Ctrl-C
 * from a terminal (SIGINT to the whole process group) stops everything, says so, and
 * leaves no run file behind.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../../support/api.ts";
import {
  killLeftovers,
  launch,
  type Launched,
  localDir,
  removeStackData,
  uniqueName,
} from "../../support/npm-start.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.ts";

let stack: Launched;
let hook: WebhookReceiver;
const name = uniqueName("settings");

beforeAll(async () => {
  hook = await startWebhookReceiver(`whsec_${randomBytes(32).toString("base64")}`);
  const envFile = path.join(localDir, `stack-${name}`, "test.env");
  await mkdir(path.dirname(envFile), { recursive: true });
  await writeFile(
    envFile,
    [
      `SECURITY_WEBHOOK_URL=${hook.url}`,
      `SECURITY_WEBHOOK_SECRET="${hook.secret}"`,
      "SESSION_REUSE_GRACE=0",
      "SESSION_ACESS_TTL=60",
    ].join("\n") + "\n",
  );
  // `npm start` itself, as a user runs it: npm, then scripts/start.sh, then the stack.
  stack = await launch({ name, env: { SG_ENV_FILE: envFile }, npmStart: true });
  await stack.ready;
});

afterAll(async () => {
  await stack?.stop("SIGKILL");
  killLeftovers();
  await hook?.stop();
  if (stack) await removeStackData(stack.name);
});

describe("npm start with a .env", () => {
  it("passes the security webhook settings on: theft sends a signed webhook", async () => {
    const token = (await call(stack.origin, "/dev/clerk-token?user=webhook")).body.token as string;
    const session = `${stack.origin}/functions/v1/session`;
    const started = await call(session, "/start", { method: "POST", token, json: {} });
    expect(started.status).toBe(200);
    const first = started.body.refresh_token as string;
    expect((await call(session, "/refresh", { method: "POST", json: { refresh_token: first } })).status).toBe(
      200,
    );
    const replay = await call(session, "/refresh", { method: "POST", json: { refresh_token: first } });
    expect(replay.body.error).toBe("refresh_token_reused");
    const [delivery] = await hook.waitForDeliveries(1);
    expect(delivery!.verified).toBe(true);
    expect(delivery!.payload).toMatchObject({
      type: "session.refresh_token_reused",
      data: { session_id: (started.body.session as { id: string }).id },
    });
  });

  it("warns about a .env name no function reads, and lists the ones it passed on", () => {
    expect(stack.output()).toMatch(/warning: .*test\.env sets SESSION_ACESS_TTL, which no function reads/);
    expect(stack.output()).toMatch(/From env\/\.env\s+.*SECURITY_WEBHOOK_SECRET, SECURITY_WEBHOOK_URL/);
  });

  it("prints hints with the ports it really uses", () => {
    const banner = stack.output().slice(stack.output().indexOf("sessionguard: ready in"));
    const ports = new Set(
      [...banner.matchAll(/http:\/\/127\.0\.0\.1:(\d+)\/(?!postgres)/g)].map((m) => Number(m[1])),
    );
    expect([...ports]).toEqual([stack.port]);
    expect(stack.port).not.toBe(54321);
    expect(banner).toContain(`Try it: SG_PORT=${stack.port} npm run demo`);
    expect(banner).toContain(`Data API       http://127.0.0.1:${stack.port}/rest/v1`);
  });

  it("a terminal's Ctrl-C (SIGINT to the process group) stops it, says so, and removes running.json", async () => {
    const runFile = path.join(localDir, `stack-${name}`, "running.json");
    expect(existsSync(runFile)).toBe(true);
    process.kill(-stack.child.pid!, "SIGINT");
    const code = await stack.exited;
    expect(stack.output()).toContain("sessionguard: stopped");
    expect(existsSync(runFile)).toBe(false);
    expect(code).toBe(0);
  });
});
