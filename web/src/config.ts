/**
 * Where the page's session function and identity are: from the server's `config.json`
 * only, never from the page's own URL (a link naming another endpoint would send this
 * device's tokens there). `?user=` only picks a demo user of the local development issuer.
 */

/** Who proves the user's identity (see ../clerk-token.js). */
export type IdentityConfig =
  | { mode: "local"; devTokenUrl: string }
  | { mode: "clerk"; publishableKey: string; frontendApi: string };

export interface PageConfig {
  /** The session function's base URL, without a trailing slash. */
  sessionUrl: string;
  identity: IdentityConfig;
}

interface Served {
  sessionUrl?: string;
  devTokenUrl?: string;
  clerk?: { publishableKey?: string; frontendApi?: string };
}

export async function loadConfig(): Promise<PageConfig> {
  let served: Served = {};
  try {
    const res = await fetch(new URL("config.json", location.href), { cache: "no-store" });
    if (res.ok) served = (await res.json()) as Served;
  } catch {
    // no config.json: same-origin defaults
  }
  const sessionUrl = (served.sessionUrl ?? new URL("/functions/v1/session", location.origin).href)
    .replace(/\/+$/, "");
  const { publishableKey, frontendApi } = served.clerk ?? {};
  if (publishableKey && frontendApi) {
    return { sessionUrl, identity: { mode: "clerk", publishableKey, frontendApi } };
  }
  const devTokenUrl = new URL(served.devTokenUrl ?? "/dev/clerk-token", location.origin);
  // Optional: a named demo user (tests use one per run); the issuer may ignore it.
  const user = new URLSearchParams(location.search).get("user");
  if (user) devTokenUrl.searchParams.set("user", user);
  return { sessionUrl, identity: { mode: "local", devTokenUrl: devTokenUrl.href } };
}
