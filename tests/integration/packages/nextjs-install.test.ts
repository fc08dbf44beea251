/**
 * @sessionguard/server (with the @sessionguard/client it signs proofs with) and
 * @sessionguard/nextjs as users get them: `npm pack` each (each builds itself), install the tarballs into a clean Next.js 16 app outside this repository
 * (`npm install --prefer-offline`), `next build` it, then serve it with `next start`
 * against the real session function (Deno, real Postgres): a session started from Node
 * with the installed server package is read by the installed Next.js package in a
 * server render, and its proxy rotates the cookie.
 */
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../scripts/lib/ports.ts";
import { clerkId } from "../../../scripts/lib/clerk-issuer.ts";
import { APP_ORIGIN, type Stack, startStack } from "../../support/stack.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const rootPackage = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
const pinned = (name: string) => rootPackage.devDependencies[name] ?? rootPackage.dependencies[name];
const APP_DEPENDENCIES = ["next", "react", "react-dom", "@supabase/supabase-js", "@clerk/nextjs"];
const APP_DEV_DEPENDENCIES = ["typescript", "@types/react", "@types/react-dom", "@types/node"];

/** The app's files: what a user writes after reading docs/server-rendering.md. */
const FILES: Record<string, string> = {
  "lib/guard.ts": `import { createSessionGuard } from "@sessionguard/server";
export const guard = createSessionGuard({
  // next build imports this too, where no setting is given: a default keeps the import harmless.
  sessionUrl: process.env.SESSIONGUARD_URL ?? "http://127.0.0.1:54321/functions/v1/session",
  serverKey: process.env.SESSIONGUARD_SERVER_KEY,
  refreshMargin: Number(process.env.SESSIONGUARD_REFRESH_MARGIN ?? 60),
});
`,
  "proxy.ts": `import { createSessionGuardProxy } from "@sessionguard/nextjs";
import type { NextRequest } from "next/server";
import { guard } from "./lib/guard";
const sessionguard = createSessionGuardProxy({ guard });
export default async function proxy(request: NextRequest) {
  return (await sessionguard(request)).response;
}
export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
`,
  "app/api/sessionguard/route.ts": `import { createSessionGuardRoute } from "@sessionguard/nextjs";
import { guard } from "../../../lib/guard";
export const { POST } = createSessionGuardRoute(guard);
`,
  "app/client.tsx": `"use client";
import { useSessionGuard } from "@sessionguard/nextjs/client";
export function Who() {
  const { session } = useSessionGuard();
  return <p id="client">{session ? "client sees " + session.user_id : "client sees nobody"}</p>;
}
`,
  "app/layout.tsx": `import { publicSession } from "@sessionguard/nextjs";
import { getSession } from "@sessionguard/nextjs/server";
import { SessionGuardProvider } from "@sessionguard/nextjs/client";
import { guard } from "../lib/guard";
export const dynamic = "force-dynamic";
export default async function Layout({ children }: { children: React.ReactNode }) {
  const session = await getSession(guard);
  return <html lang="en"><body>
    <SessionGuardProvider session={session && publicSession(session)}>{children}</SessionGuardProvider>
  </body></html>;
}
`,
  "app/page.tsx": `import { createServerSupabase, getSession } from "@sessionguard/nextjs/server";
import { guard } from "../lib/guard";
import { Who } from "./client";
export const dynamic = "force-dynamic";
export default async function Page() {
  const session = await getSession(guard);
  const devices = session ? await (await guard).devices(session) : [];
  const supabase = await createServerSupabase(guard, { url: "http://127.0.0.1:9", anonKey: "anon" });
  return <main>
    <p id="server">{session ? "server renders " + session.userId + " with " + devices.length + " device(s)" : "signed out"}</p>
    <p id="supabase">{supabase ? "supabase client ready" : "no supabase client"}</p>
    <Who />
  </main>;
}
`,
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      lib: ["dom", "dom.iterable", "esnext"],
      strict: true,
      noEmit: true,
      module: "esnext",
      moduleResolution: "bundler",
      jsx: "react-jsx",
      isolatedModules: true,
      skipLibCheck: true,
      plugins: [{ name: "next" }],
    },
    include: ["**/*.ts", "**/*.tsx"],
  }),
  "start-session.mjs": `// Node, from the app's own node_modules: start a session as a browser's request would.
import { createSessionGuard } from "@sessionguard/server";
const guard = await createSessionGuard({ sessionUrl: process.env.SESSIONGUARD_URL, serverKey: process.env.SESSIONGUARD_SERVER_KEY });
const request = new Request(process.env.APP_URL + "/", { headers: { "user-agent": "install test" } });
const state = await guard.start(request, process.env.CLERK_TOKEN, { deviceName: "installed package" });
console.log(JSON.stringify({ setCookie: state.setCookies[0], bound: guard.boundKey !== null, type: state.session.tokenType }));
`,
};

let stack: Stack;
let work: string;
let app: string;
let tarballs: Record<string, string>;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env, npm_config_update_notifier: "false", npm_config_fund: "false", NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
    timeout: 600_000,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

beforeAll(async () => {
  stack = await startStack({ SESSION_REUSE_GRACE: "10" });
  work = mkdtempSync(path.join(os.tmpdir(), "sessionguard-nextjs-"));
  const packed = JSON.parse(
    run("npm", ["pack", "--json", "--pack-destination", work, "./packages/client", "./packages/server", "./packages/nextjs"], ROOT),
  ) as { name: string; filename: string }[];
  tarballs = Object.fromEntries(packed.map((p) => [p.name, path.join(work, p.filename)]));
  app = path.join(work, "app");
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    writeFileSync(path.join(app, file), text);
  }
  writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({
      name: "clean-next-app",
      private: true,
      type: "module",
      dependencies: {
        // The server package's dependency, from its tarball too (it is not on the registry).
        "@sessionguard/client": `file:${tarballs["@sessionguard/client"]}`,
        "@sessionguard/server": `file:${tarballs["@sessionguard/server"]}`,
        "@sessionguard/nextjs": `file:${tarballs["@sessionguard/nextjs"]}`,
        ...Object.fromEntries(APP_DEPENDENCIES.map((name) => [name, pinned(name)])),
      },
      devDependencies: Object.fromEntries(APP_DEV_DEPENDENCIES.map((name) => [name, pinned(name)])),
    }, null, 2),
  );
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app);
  run(path.join(app, "node_modules", ".bin", "next"), ["build"], app);
}, 900_000);

afterAll(async () => {
  await stack?.stop();
  if (work && process.env.SG_KEEP_SCRATCH !== "1") rmSync(work, { recursive: true, force: true });
});

describe("packed @sessionguard/server and @sessionguard/nextjs in a clean Next.js app", () => {
  it("ship built ESM and declarations, not sources, and install from the tarballs", () => {
    const list = (tgz: string) => execFileSync("tar", ["-tzf", tgz], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(list(tarballs["@sessionguard/server"]!)).toEqual(
      expect.arrayContaining(["package/dist/index.js", "package/dist/index.d.ts", "package/README.md"]),
    );
    expect(list(tarballs["@sessionguard/nextjs"]!)).toEqual(
      expect.arrayContaining(["package/dist/index.js", "package/dist/server.js", "package/dist/client.js", "package/dist/client.d.ts"]),
    );
    for (const tgz of Object.values(tarballs)) expect(list(tgz).filter((f) => f.startsWith("package/src/"))).toEqual([]);
    // The client entry keeps its directive, so Next.js bundles it for the browser.
    const client = readFileSync(path.join(app, "node_modules", "@sessionguard", "nextjs", "dist", "client.js"), "utf8");
    expect(client.trimStart().startsWith('"use client"')).toBe(true);
  });

  it("next start serves a server render that reads the session, and its proxy rotates the cookie", async () => {
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    const serverKey = execFileSync("node", ["--input-type=module", "-e",
      'import { generateServerKeyJwk } from "@sessionguard/server"; console.log(JSON.stringify(await generateServerKeyJwk()));'],
      { cwd: app, encoding: "utf8" }).trim();
    const env = { ...process.env, SESSIONGUARD_URL: stack.server.url, SESSIONGUARD_SERVER_KEY: serverKey, NEXT_TELEMETRY_DISABLED: "1" };
    const user = clerkId("user");
    const { stdout } = await promisify(execFile)("node", ["start-session.mjs"], {
      cwd: app,
      env: { ...env, APP_URL: appUrl, CLERK_TOKEN: await stack.clerk.token({ sub: user, azp: APP_ORIGIN }) },
    });
    const started = JSON.parse(stdout.trim()) as { setCookie: string; bound: boolean; type: string };
    expect(started).toMatchObject({ bound: true, type: "DPoP" });
    const cookie = started.setCookie.split("; ")[0]!;
    expect(cookie.startsWith("sessionguard=")).toBe(true);

    const child = spawn(path.join(app, "node_modules", ".bin", "next"), ["start", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: app,
      env: { ...env, SESSIONGUARD_REFRESH_MARGIN: "100000" },
      stdio: "ignore",
    });
    try {
      let response: Response | null = null;
      for (let i = 0; i < 200 && !response; i++) {
        response = await fetch(`${appUrl}/`, { headers: { cookie } }).catch(() => null);
        if (!response) await new Promise((r) => setTimeout(r, 300));
      }
      expect(response!.status).toBe(200);
      const html = await response!.text();
      expect(html).toContain(`server renders ${user} with 1 device(s)`);
      expect(html).toContain("supabase client ready");
      expect(html).toContain(`client sees ${user}`);
      const rotated = response!.headers.getSetCookie().find((c) => c.startsWith("sessionguard="));
      // Written through Next.js's cookie store, which orders the attributes its own way.
      expect(rotated).toMatch(/; HttpOnly(;|$)/);
      expect(rotated).toMatch(/; SameSite=Lax(;|$)/i);
      expect(rotated).toMatch(/; Path=\/(;|$)/);
      expect(rotated!.split("; ")[0]).not.toBe(cookie);
      // Signed out: no session, nothing rendered for anyone.
      const anonymous = await (await fetch(`${appUrl}/`)).text();
      expect(anonymous).toContain("signed out");
    } finally {
      child.kill("SIGTERM");
    }
  }, 120_000);
});
