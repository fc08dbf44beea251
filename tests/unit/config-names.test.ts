/**
 * FUNCTION_SETTINGS (functions/config/names.ts) is what `npm start` passes on to the
 * functions, so it must be exactly what the settings parsers read: checked twice, from
 * the parsers' source (every `get("NAME")` and `settingReader(env)("NAME")`) and by running them over an environment that
 * records each name read. A setting the parsers gain and the list lacks fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../functions/config.ts";
import { parseClerkWebhookConfig } from "../../functions/config/clerk-webhook.ts";
import { FUNCTION_SETTINGS } from "../../functions/config/names.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import { isFunctionSetting, unreadSettings } from "../../scripts/stack/env.ts";
import { functionSettings, stackUrls } from "../../scripts/stack/settings.ts";
import { generateKeys } from "../../scripts/stack/keys.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function namesInParserSource(): Set<string> {
  const dir = path.join(root, "functions", "config");
  const files = [
    path.join(root, "functions", "config.ts"),
    ...readdirSync(dir).map((file) => path.join(dir, file)),
  ];
  const names = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(file, "utf8").matchAll(/(?:\bget|\))\(\s*"([A-Z][A-Z0-9_]*)"\s*\)/g)) {
      names.add(match[1]!);
    }
  }
  return names;
}

/** An environment that records every name read from it. */
function recording(
  values: Record<string, string>,
): { env: Record<string, string | undefined>; read: Set<string> } {
  const read = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === "string") read.add(name);
      return target[name as string];
    },
  });
  return { env, read };
}

describe("FUNCTION_SETTINGS", () => {
  it("lists exactly the names the parsers read through get()", () => {
    expect([...namesInParserSource()].sort()).toEqual([...FUNCTION_SETTINGS].sort());
  });

  it("holds every name the parsers read when they run", async () => {
    const { env, read } = recording({
      CLERK_ISSUER: "https://clerk.example.com",
      CLERK_AUTHORIZED_PARTIES: "https://app.example.com",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_ISSUER: "https://p.supabase.co/functions/v1/session",
      DATABASE_URL: "postgresql://postgres:postgres@127.0.0.1:5432/postgres",
      CLERK_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString("base64")}`,
      SECURITY_WEBHOOK_URL: "https://app.example.com/hooks",
      SECURITY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 2).toString("base64")}`,
    });
    parseConfig(env);
    parseClerkWebhookConfig(env);
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((name) => !(FUNCTION_SETTINGS as readonly string[]).includes(name))).toEqual([]);
    expect(read.has("SECURITY_WEBHOOK_URL") && read.has("SECURITY_WEBHOOK_SECRET")).toBe(true);
  });
});

describe("npm start passes on what the functions read, and names what nothing reads", () => {
  it("passes the security webhook settings, which the old prefix rule dropped", () => {
    const given = {
      SECURITY_WEBHOOK_URL: "https://app.example.com/hooks",
      SECURITY_WEBHOOK_SECRET: "whsec_x",
      SESSION_REUSE_GRACE: "0",
      SESSION_MISSPELLED: "1",
      PATH: "/bin",
    };
    const { env } = functionSettings(
      given,
      generateKeys(),
      stackUrls(54321),
      "postgresql://p:p@127.0.0.1:1/p",
    );
    expect(env.SECURITY_WEBHOOK_URL).toBe("https://app.example.com/hooks");
    expect(env.SECURITY_WEBHOOK_SECRET).toBe("whsec_x");
    expect(env.SESSION_REUSE_GRACE).toBe("0");
    expect(env).not.toHaveProperty("SESSION_MISSPELLED");
    expect(env).not.toHaveProperty("PATH");
    expect(isFunctionSetting("SESSION_MISSPELLED")).toBe(false);
  });

  it("warns about .env names no function or the stack reads", () => {
    expect(unreadSettings({
      SECURITY_WEBHOOK_URL: "x",
      SESSION_ACESS_TTL: "60",
      SG_PORT: "5000",
      CLERK_PUBLISHABLE_KEY: "pk_test_x",
      STRIPE_KEY: "sk",
    })).toEqual(["SESSION_ACESS_TTL", "STRIPE_KEY"]);
  });
});
