/**
 * Plain-language text for what users see: why they were signed out, what went wrong,
 * which browser a session is. Exported so apps can reuse (or replace) the wording.
 */
import type { SessionErrorCode, SignedOutReason } from "@sessionguard/client";

const SIGNED_OUT: Record<SignedOutReason, string> = {
  signed_out: "You are signed out.",
  session_revoked: "You were signed out: this session was ended from another device or after a security check.",
  session_expired: "You were signed out because your session expired.",
  refresh_token_reused:
    "For your safety we signed you out: someone tried to use an old sign-in token from this device. " +
    "Sign in again and check your devices.",
  invalid_refresh_token: "You were signed out because the saved session was not valid.",
  invalid_dpop_proof: "You were signed out because this device no longer holds the key this session was tied to.",
};

/** Why the user is signed out, in one or two sentences. */
export function describeSignOut(reason: SignedOutReason | null): string {
  return (reason && SIGNED_OUT[reason]) ?? SIGNED_OUT.signed_out;
}

const ERRORS: Partial<Record<SessionErrorCode, string>> = {
  network_error: "We could not reach the server. Check your connection and try again.",
  not_signed_in: "You are not signed in.",
  not_found: "That device is already signed out.",
  rate_limited: "Too many attempts in a short time. Wait a moment and try again.",
  session_revoked: SIGNED_OUT.session_revoked,
  session_expired: SIGNED_OUT.session_expired,
  refresh_token_reused: SIGNED_OUT.refresh_token_reused,
  server_error: "Something went wrong on our side. Try again in a moment.",
};

/** A failed call's message for the user; anything unexpected gets a general sentence. */
export function describeError(error: { code?: string } | null | undefined): string {
  const code = error?.code as SessionErrorCode | undefined;
  return (code && ERRORS[code]) ?? "Something went wrong. Try again.";
}

/**
 * Browsers by the token their user agent carries, most specific first (Edge and Opera say
 * "Chrome" too, Chrome says "Safari" too). The version is the major number after the token.
 */
const BROWSERS: [name: string, token: RegExp][] = [
  ["Edge", /Edg(?:e|A|iOS)?\/(\d+)/],
  ["Opera", /OPR\/(\d+)/],
  ["Samsung Internet", /SamsungBrowser\/(\d+)/],
  ["Firefox", /(?:Firefox|FxiOS)\/(\d+)/],
  ["Chrome", /(?:Chrome|Chromium|CriOS)\/(\d+)/],
  ["Safari", /Version\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//],
];

/** "Chrome 131" from a user agent string ("Chrome" without a version); empty when not recognised. */
export function describeBrowser(userAgent: string | null | undefined): string {
  if (!userAgent) return "";
  for (const [name, token] of BROWSERS) {
    const match = token.exec(userAgent);
    if (match) return `${name} ${match[1]}`;
  }
  return /Safari\//.test(userAgent) ? "Safari" : "";
}

/** "Chrome on macOS" from a user agent string; empty when nothing is recognised. */
export function describeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return "";
  const browser = describeBrowser(userAgent).replace(/ \d+$/, "");
  const os = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
    ? "iOS"
    : /Windows/.test(userAgent)
    ? "Windows"
    : /Mac OS X/.test(userAgent)
    ? "macOS"
    : /Linux/.test(userAgent)
    ? "Linux"
    : "";
  return [browser, os].filter(Boolean).join(" on ");
}

/** Server times are Unix seconds (older servers sent ISO strings). */
export function toDate(value: string | number): Date {
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

/** A date and time in the user's locale, or an em dash for a missing one. */
export function formatTime(value: string | number): string {
  const date = toDate(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}
