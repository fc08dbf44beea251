/**
 * The stack's port answers only once it is ready (SPEC, "What npm start gives a
 * newcomer"): a client that polls a URL from the moment `npm start` runs, as a CI
 * script does, never sees a 5xx, and its first `/start` succeeds. Tried on a fresh
 * copy of the checkout with no node_modules (`npm start` must install them itself),
 * and with DATABASE_URL naming a database that has not been migrated yet.
 *
 * Also the DNS-rebinding guard (issue 12, item 7): a request whose Host is not a
 * loopback name is refused, so a rebinding page cannot get development-issuer tokens.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, inject, it } from "vitest";
import { call } from "../../support/api.ts";
import {
  killLeftovers,
  launch,
  type Launched,
  removeStackData,
  root,
  uniqueName,
} from "../../support/npm-start.ts";

interface Polled {
  /** Every status seen before the first answer counted (connection refusals are not answers). */
  readonly first: number;
  readonly attempts: number;
}

/** Polls `url` every 25 ms until something answers; the stack must come up meanwhile. */
async function pollUntilAnswered(url: string, stack: Launched, limitMs = 240_000): Promise<Polled> {
  const deadline = Date.now() + limitMs;
  let exited = false;
  void stack.exited.then(() => (exited = true));
  for (let attempts = 1; Date.now() < deadline && !exited; attempts++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      return { first: response.status, attempts };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`the stack never answered ${url}:\n${stack.output()}`);
}

/** Right after the port answers: a development-issuer token, then /start with it. */
async function firstSignIn(origin: string): Promise<number> {
  const token = await call(origin, "/dev/clerk-token?user=ready");
  expect(token.status).toBe(200);
  const started = await call(`${origin}/functions/v1/session`, "/start", {
    method: "POST",
    token: token.body.token,
    json: { device_name: "ci" },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return started.status;
}

/** A raw request with a chosen Host header (fetch does not let one set it). */
function withHost(origin: string, pathname: string, host: string, method = "GET"): Promise<number> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: pathname, method, headers: { host } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end();
  });
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  killLeftovers();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}, 60_000);

describe("a fresh clone: npm start with nothing run before it", () => {
  it("installs node_modules, and the port answers only when /start works", async () => {
    const copy = path.join(os.tmpdir(), `sg-fresh-${process.pid}-${randomBytes(3).toString("hex")}`);
    cleanups.push(() => rm(copy, { recursive: true, force: true }));
    // Every file git would check out, as the working tree has it; no node_modules, no .local.
    const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], {
      cwd: root,
      encoding: "utf8",
    })
      .split("\n")
      .filter((file) => file !== "" && !file.startsWith("node_modules/"));
    await mkdir(copy);
    for (const file of files) {
      await cp(path.join(root, file), path.join(copy, file), { recursive: true }).catch((error) => {
        if (error.code !== "ENOENT") throw error; // deleted in the working tree
      });
    }
    const stack = await launch({ cwd: copy, npmStart: true, name: uniqueName("fresh") });
    cleanups.push(() => stack.stop());

    const polled = await pollUntilAnswered(
      `${stack.origin}/functions/v1/session/.well-known/jwks.json`,
      stack,
    );
    expect(polled.first, stack.output()).toBe(200);
    expect(await firstSignIn(stack.origin)).toBe(200);
    expect(stack.output()).toContain("installing node_modules");
    await stack.ready;
    expect(await stack.stop()).toBe(0);
  }, 300_000);
});

describe("DATABASE_URL naming a database that is not migrated yet", () => {
  let stack: Launched;

  it("holds the port until the migrations are pushed; the first /start succeeds", async () => {
    const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
    const database = `sg_ready_${process.pid}_${randomBytes(3).toString("hex")}`;
    await admin.unsafe(`create database ${database}`);
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.end();
    });
    const url = new URL(inject("databaseUrl"));
    url.pathname = `/${database}`;
    const name = uniqueName("ready");
    cleanups.push(() => removeStackData(name));
    stack = await launch({ name, env: { DATABASE_URL: url.href } });
    cleanups.push(() => stack.stop());

    // Any URL of the stack: the session function's own route, polled from the start.
    const polled = await pollUntilAnswered(`${stack.origin}/functions/v1/session/sessions`, stack);
    expect(polled.first, stack.output()).toBe(401); // no token: the function answered, not a 5xx
    expect(await firstSignIn(stack.origin)).toBe(200);
    await stack.ready;
  }, 180_000);

  it("answers only requests addressed to a loopback host (DNS rebinding)", async () => {
    const { port } = new URL(stack.origin);
    for (
      const host of [
        "evil.example",
        `evil.example:${port}`,
        `127.0.0.1.nip.io:${port}`,
        `localhost.evil.example`,
      ]
    ) {
      expect(await withHost(stack.origin, "/dev/clerk-token", host), host).toBe(400);
      expect(await withHost(stack.origin, "/functions/v1/session/start", host, "POST"), host).toBe(400);
      expect(await withHost(stack.origin, "/functions/v1/session/.well-known/jwks.json", host), host).toBe(
        400,
      );
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `app.localhost:${port}`]) {
      expect(await withHost(stack.origin, "/dev/clerk-token", host), host).toBe(200);
    }
  });
});
