/**
 * The seam to whoever proves the user's identity, `clerk-token.js` beside the page: a
 * plain module served as it is (not bundled), so a deployment can swap it without a
 * build. Loaded at run time from next to the page's script.
 */
import type { IdentityConfig } from "./config.ts";

/** What clerk-token.js's `createTokenSource(config)` returns. */
export interface TokenSource {
  /** The sign-in button's text. */
  readonly label: string;
  /** A Clerk session token (a JWT) for the session function's `/start`. */
  getToken(): Promise<string>;
}

export async function loadTokenSource(config: IdentityConfig): Promise<TokenSource> {
  // Not `new URL(..., import.meta.url)`: Vite would take that for an asset to bundle.
  const url = import.meta.url.replace(/[^/]*$/, "clerk-token.js");
  const module = (await import(/* @vite-ignore */ url)) as {
    createTokenSource(config: IdentityConfig): TokenSource;
  };
  return module.createTokenSource(config);
}
