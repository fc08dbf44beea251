/**
 * The packages as users get them: `npm pack` both (which builds them), install the two
 * tarballs into a fresh scratch project (`npm install --prefer-offline`: from the npm
 * cache when it has everything), then, from that project only, never from sdk/src or
 * react/src:
 *
 * - Node imports both as ESM, the React package touches no browser global when imported
 *   or rendered with react-dom/server, and the SDK signs in, refreshes, lists devices and
 *   signs out against the real session function (Deno, real Postgres);
 * - Vite bundles an app that uses both (and the Clerk glue, and the stylesheet);
 * - tsc resolves their declarations (bundler and NodeNext resolution), checked by uses
 *   that must type-check and misuses that must not.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../../support/context.ts";
import { clerkId, type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../../../scripts/lib/session-server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const FIXTURE = path.join(ROOT, "tests", "integration", "packages", "scratch");
const BIN = path.join(ROOT, "node_modules", ".bin");
const rootPackage = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
/** The scratch app's own dependencies, at the versions this repository pins. */
const APP_DEPENDENCIES = ["react", "react-dom", "@supabase/supabase-js", "@clerk/react", "@types/react", "@types/react-dom"];

let work: string;
let app: string;
let tarballs: { client: string; react: string };

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env, npm_config_update_notifier: "false", npm_config_fund: "false" },
    encoding: "utf8",
    timeout: 240_000,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

beforeAll(() => {
  // Outside the repository, so nothing in the app can resolve a module from its node_modules.
  work = mkdtempSync(path.join(os.tmpdir(), "sessionguard-packages-"));
  // 1. Pack: each package's prepack builds it (tsc) first.
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work, "./packages/client", "./packages/react"], ROOT)) as {
    name: string;
    filename: string;
  }[];
  const file = (name: string) => path.join(work, packed.find((p) => p.name === name)!.filename);
  tarballs = { client: file("@sessionguard/client"), react: file("@sessionguard/react") };

  // 2. A project that has never seen this repository, but for the tarballs.
  app = path.join(work, "app");
  mkdirSync(app);
  cpSync(FIXTURE, app, { recursive: true });
  const pinned = (name: string) => rootPackage.devDependencies[name] ?? rootPackage.dependencies[name];
  writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({
      name: "scratch-app",
      private: true,
      type: "module",
      dependencies: {
        "@sessionguard/client": `file:${tarballs.client}`,
        "@sessionguard/react": `file:${tarballs.react}`,
        ...Object.fromEntries(APP_DEPENDENCIES.map((name) => [name, pinned(name)])),
      },
    }, null, 2),
  );
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app);
}, 300_000);

afterAll(() => {
  if (work && process.env.SG_KEEP_SCRATCH !== "1") rmSync(work, { recursive: true, force: true });
});

describe("packed packages", () => {
  it("ship built ESM and declarations, not sources", () => {
    const list = (tgz: string) => execFileSync("tar", ["-tzf", tgz], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const tgz of [tarballs.client, tarballs.react]) {
      const files = list(tgz);
      expect(files).toContain("package/dist/index.js");
      expect(files).toContain("package/dist/index.d.ts");
      expect(files.filter((f) => f.startsWith("package/src/"))).toEqual([]);
    }
    expect(list(tarballs.react)).toEqual(expect.arrayContaining(["package/dist/clerk.js", "package/styles.css"]));
    // Installed from the tarballs, not linked to this repository.
    const installed = path.join(app, "node_modules", "@sessionguard", "react");
    expect(existsSync(path.join(installed, "dist", "index.js"))).toBe(true);
    expect(existsSync(path.join(installed, "src"))).toBe(false);
  });

  describe("in Node, against the real session function", () => {
    let issuer: ClerkIssuer;
    let server: SessionServer;
    beforeAll(async () => {
      issuer = await startClerkIssuer();
      server = await startSessionServer({
        CLERK_ISSUER: issuer.issuer,
        CLERK_JWKS_URL: issuer.jwksUrl,
        CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
        SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
        SESSION_REFRESH_SECRET: refreshSecret(),
        DATABASE_URL: testDatabaseUrl(),
        SESSION_RATE_LIMITS: "off",
        SESSION_ISSUER: "http://127.0.0.1:54321/functions/v1/session",
      });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await issuer?.stop();
    });

    it("imports as ESM without touching browser globals, renders on the server, and signs in", async () => {
      const user = clerkId("user");
      const token = await issuer.token({ sub: user, azp: "http://localhost:3000" });
      // Not spawnSync: the Clerk issuer answers its JWKS from this process meanwhile.
      const { stdout: out } = await promisify(execFile)("node", ["node-check.mjs"], {
        cwd: app,
        env: { ...process.env, SESSION_URL: server.url, CLERK_TOKEN: token },
        timeout: 60_000,
      });
      const result = JSON.parse(out.trim().split("\n").at(-1)!);
      expect(result.exports.client).toEqual(expect.arrayContaining(["createSessionClient", "SessionError"]));
      expect(result.exports.react).toEqual(
        expect.arrayContaining([
          "SessionGuardProvider",
          "useSession",
          "useSupabaseClient",
          "useDevices",
          "useSecurityEvents",
          "DeviceList",
          "SecurityEvents",
        ]),
      );
      expect(result.exports.clerk).toEqual(["ClerkSessionSync", "useClerkSessionSync"]);
      expect(result.controlSeen).toEqual(["window"]); // the detector works
      expect(result.touchedAtImport).toEqual([]);
      expect(result.touchedDuringRender).toEqual([]);
      // Server markup: headings and live regions, no data (it loads in the browser).
      expect(result.html).toContain("Your devices");
      expect(result.html).toContain("Security activity");
      expect(result.html).toMatch(/role="status" aria-live="polite"/);
      expect(result.errorIsClass).toBe(true);
      expect(result.live).toEqual({
        userId: user,
        sameSession: true,
        devices: [{ name: "scratch project", current: true }],
        afterSignOut: null,
      });
    }, 60_000);
  });

  it("bundle with Vite", () => {
    run(path.join(BIN, "vite"), ["build", "--logLevel", "warn", "--outDir", "dist"], app);
    const assets = path.join(app, "dist", "assets");
    const js = readdirSync(assets).filter((f) => f.endsWith(".js")).map((f) => readFileSync(path.join(assets, f), "utf8"))
      .join("\n");
    const css = readdirSync(assets).filter((f) => f.endsWith(".css")).map((f) => readFileSync(path.join(assets, f), "utf8"))
      .join("\n");
    expect(js).toContain("Sign out everywhere else"); // the React package
    expect(js).toContain("a Clerk session token is required"); // the SDK
    expect(js).not.toMatch(/from\s*["']@sessionguard/); // nothing left unresolved
    expect(css).toContain("--sg-accent");
  }, 120_000);

  /** The README's React usage, word for word (both READMEs show the same block). */
  function readmeSnippet(): string {
    const block = (file: string) => /```tsx\n([\s\S]*?)```/.exec(readFileSync(path.join(ROOT, file), "utf8"))?.[1];
    const snippet = block("packages/react/README.md");
    expect(snippet).toBeTruthy();
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain(snippet);
    return snippet!;
  }

  for (const resolution of ["bundler", "nodenext"] as const) {
    it(`type-check with tsc (moduleResolution ${resolution})`, () => {
      const tsconfig = {
        compilerOptions: {
          target: "ES2022",
          module: resolution === "bundler" ? "ESNext" : "NodeNext",
          moduleResolution: resolution,
          jsx: "react-jsx",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          lib: ["ES2022", "DOM"],
          types: [],
        },
        files: ["types-check.tsx", "readme.tsx"],
      };
      writeFileSync(
        path.join(app, "readme.tsx"),
        "declare const SUPABASE_URL: string, SUPABASE_ANON_KEY: string, CLERK_PUBLISHABLE_KEY: string;\n" +
          "declare function Notes(): null;\n" + readmeSnippet(),
      );
      const file = path.join(app, `tsconfig.${resolution}.json`);
      writeFileSync(file, JSON.stringify(tsconfig));
      run(path.join(BIN, "tsc"), ["-p", file], app);
    }, 120_000);
  }

  it("tsc reports a misuse (the check above is not vacuous)", () => {
    writeFileSync(
      path.join(app, "misuse.ts"),
      'import { useDevices } from "@sessionguard/react";\nuseDevices({ refreshInterval: "soon" });\n',
    );
    const result = spawnSync(
      path.join(BIN, "tsc"),
      ["--noEmit", "--strict", "--module", "ESNext", "--moduleResolution", "bundler", "--skipLibCheck", "misuse.ts"],
      { cwd: app, encoding: "utf8" },
    );
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain("TS2322"); // a string is not a number of milliseconds
  }, 60_000);
});
