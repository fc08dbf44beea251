/**
 * The one check of a URL setting (`CLERK_ISSUER`, `SESSION_ISSUER`,
 * `SESSION_PUBLIC_URL`, `CLERK_API_URL`, `SECURITY_WEBHOOK_URL`, ...) and of an
 * origin (`ALLOWED_ORIGINS`, `CLERK_AUTHORIZED_PARTIES`): https, or http for a
 * loopback host only; never credentials or a fragment.
 */
import { ConfigError, required } from "./read.ts";

const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/**
 * `value` parsed as an https URL (http only for loopback hosts) without
 * credentials or fragment; a query too is refused unless `query` is "keep".
 */
export function checkedUrl(
  name: string,
  value: string | undefined,
  query: "refuse" | "keep" = "refuse",
): URL {
  let parsed: URL;
  try {
    parsed = new URL(required(name, value));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(name, "must be an absolute URL");
  }
  const loopback = LOOPBACK_HOSTS.includes(parsed.hostname);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    throw new ConfigError(name, "must be an https URL (http only for localhost)");
  }
  if ((query === "refuse" && parsed.search) || parsed.hash || parsed.username || parsed.password) {
    throw new ConfigError(
      name,
      `must not carry ${query === "refuse" ? "a query, fragment" : "a fragment"} or credentials`,
    );
  }
  return parsed;
}

/** A base URL: {@link checkedUrl} without a query, trailing slashes dropped. */
export function baseUrl(name: string, value: string | undefined): string {
  return checkedUrl(name, value).href.replace(/\/+$/, "");
}

/** An origin like `https://app.example.com` (a trailing slash is tolerated). */
export function origin(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `"${value}" is not an origin like https://app.example.com`);
  }
  if (parsed.origin === "null" || parsed.origin !== value.replace(/\/$/, "")) {
    throw new ConfigError(name, `"${value}" is not an origin like https://app.example.com`);
  }
  return parsed.origin;
}

/** Clerk development instances and local issuers may omit the `azp` allowlist. */
export function isDevelopmentIssuer(issuer: string): boolean {
  const { hostname } = new URL(issuer);
  return hostname.endsWith(".clerk.accounts.dev") || LOOPBACK_HOSTS.includes(hostname);
}
