/**
 * The rate-limit budgets (`SESSION_RATE_LIMITS`), where the client's address is
 * read from (`SESSION_CLIENT_IP`), and which app servers may name it for the
 * browsers they act for (`SESSION_FORWARDING_KEYS`).
 */
import { isThumbprint } from "../formats.ts";
import { ConfigError, inRange, list } from "./read.ts";

/** A `count` per `seconds` budget. */
export interface RateLimit {
  readonly count: number;
  readonly seconds: number;
}

/** The budgets of `/start` and of a session's calls; null when rate limiting is `off`. */
export type RateLimits = { readonly start: RateLimit; readonly refresh: RateLimit } | null;

/**
 * Where the client's address comes from: the first valid `X-Forwarded-For`
 * entry (what the client says, unless a proxy in front rewrites the header),
 * the last one (what the nearest proxy appended), or one header that a trusted
 * proxy sets to a single address (e.g. `cf-connecting-ip`).
 */
export type ClientIpSource =
  | { readonly kind: "forwarded"; readonly pick: "first" | "last" }
  | { readonly kind: "header"; readonly name: string };

const DEFAULT_RATE_LIMITS = { start: { count: 20, seconds: 60 }, refresh: { count: 120, seconds: 60 } };

/**
 * Everything behind one ip gets this many times a user's (or a session's) budget: many
 * users can share an address. The routes count the ip with `count * IP_BUDGET_FACTOR`.
 */
export const IP_BUDGET_FACTOR = 10;

/**
 * What `sessionguard.check_rate_limit` accepts (migration `*_rate_limits_and_dpop_proofs.sql`:
 * `p_limit between 1 and 1000000`, `p_window between 1 and 86400`). A budget is parsed
 * against these so that a value the SQL would refuse on every request stops start-up
 * instead; the count is bounded so that the per-ip budget fits too.
 * tests/property/rate-limits.property.test.ts checks them against the real function.
 */
export const RATE_LIMIT_BOUNDS = Object.freeze({
  maxCount: Math.floor(1_000_000 / IP_BUDGET_FACTOR),
  maxSeconds: 86_400,
});

/** `SESSION_RATE_LIMITS`: the default budgets, overridden per route, or null for `off`. */
export function parseRateLimits(value: string | undefined): RateLimits {
  const name = "SESSION_RATE_LIMITS";
  if (value === "off") return null;
  const { maxCount, maxSeconds } = RATE_LIMIT_BOUNDS;
  const shape = `must be "off" or like "start=20/60,refresh=120/60": a count of 1 to ${maxCount} ` +
    `per 1 to ${maxSeconds} seconds`;
  const limits = { ...DEFAULT_RATE_LIMITS };
  const seen = new Set<string>();
  for (const item of list(value)) {
    const match = /^(start|refresh)=(\d{1,9})\/(\d{1,9})$/.exec(item);
    if (!match) throw new ConfigError(name, shape);
    const [, route, count, seconds] = match;
    if (!inRange(Number(count), 1, maxCount) || !inRange(Number(seconds), 1, maxSeconds)) {
      throw new ConfigError(name, `${route}: ${shape}`);
    }
    if (seen.has(route)) throw new ConfigError(name, `names ${route} twice`);
    seen.add(route);
    limits[route as "start" | "refresh"] = { count: Number(count), seconds: Number(seconds) };
  }
  return limits;
}

const DEFAULT_CLIENT_IP: ClientIpSource = Object.freeze({ kind: "header", name: "cf-connecting-ip" });

/** At most this many keys in `SESSION_FORWARDING_KEYS`. */
export const MAX_FORWARDING_KEYS = 20;

/**
 * `SESSION_FORWARDING_KEYS`: RFC 7638 thumbprints of app servers' DPoP keys
 * (`SESSIONGUARD_SERVER_KEY` of @sessionguard/server). A request whose valid proof is
 * signed by one of them may name the browser's address in `Sessionguard-Client-IP`;
 * from anyone else that header is ignored. Empty (the default): no one may.
 */
export function parseForwardingKeys(value: string | undefined): ReadonlySet<string> {
  const keys = list(value);
  if (keys.length > MAX_FORWARDING_KEYS || !keys.every(isThumbprint)) {
    throw new ConfigError(
      "SESSION_FORWARDING_KEYS",
      `must be up to ${MAX_FORWARDING_KEYS} comma-separated RFC 7638 thumbprints (43 base64url characters each), ` +
        "e.g. the `boundKey` of your app server's session guard",
    );
  }
  return Object.freeze(new Set(keys));
}

/** `SESSION_CLIENT_IP`: where the client's address is read from; default `header:cf-connecting-ip`. */
export function parseClientIp(value: string | undefined): ClientIpSource {
  // The default is what hosted Supabase's edge sets and a client cannot forge: its
  // functions are served through Cloudflare, which overwrites `CF-Connecting-IP` with the
  // address that connected to it, while `X-Forwarded-For` keeps whatever the client sent
  // in front (docs/abuse-controls.md gives the sources).
  if (value === undefined) return DEFAULT_CLIENT_IP;
  if (value === "forwarded-first") return Object.freeze({ kind: "forwarded", pick: "first" });
  if (value === "forwarded-last") return Object.freeze({ kind: "forwarded", pick: "last" });
  const header = /^header:([A-Za-z0-9-]{1,64})$/.exec(value);
  if (header) return Object.freeze({ kind: "header", name: header[1].toLowerCase() });
  throw new ConfigError(
    "SESSION_CLIENT_IP",
    'must be "forwarded-first", "forwarded-last" or "header:<name>" (e.g. header:cf-connecting-ip)',
  );
}
