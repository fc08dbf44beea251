/**
 * CORS for the session API: the `ALLOWED_ORIGINS` allowlist, on every answer,
 * errors included. Credentials are bearer tokens and DPoP proofs, never
 * cookies. `date` is exposed so that a client whose clock is off can correct
 * the iat of its DPoP proofs.
 *
 * The headers are exactly those of hono's `cors()` middleware (hono 4.13.19,
 * `src/middleware/cors/index.ts`) with these options; tests/unit/cors.test.ts
 * compares the two answer by answer. hono's writes its headers through
 * `c.res` before the route runs, which makes hono copy every answer into a new
 * Response with a stream body: the refresh's JSON then left Deno's server by
 * its streaming path instead of as a string. Here the headers are added to the
 * finished answer instead.
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "./config.ts";

const ALLOW_METHODS = "GET,POST,DELETE,OPTIONS";
const ALLOW_HEADERS = "authorization,content-type,dpop,apikey,x-client-info";
const EXPOSE_HEADERS = "www-authenticate,dpop-nonce,retry-after,date";
const MAX_AGE = "600";

/** The CORS middleware for `allowedOrigins` (`"*"`: any origin is echoed back). */
export function corsMiddleware(allowedOrigins: Config["allowedOrigins"]): MiddlewareHandler {
  const allow = (origin: string): string | null =>
    allowedOrigins === "*" || allowedOrigins.includes(origin) ? origin : null;

  return async (c, next) => {
    const allowOrigin = allow(c.req.header("origin") || "");
    if (c.req.method === "OPTIONS") {
      // A preflight is answered here, whatever the path.
      const headers = new Headers();
      if (allowOrigin) headers.set("access-control-allow-origin", allowOrigin);
      headers.set("access-control-expose-headers", EXPOSE_HEADERS);
      headers.append("vary", "Origin");
      headers.set("access-control-max-age", MAX_AGE);
      headers.set("access-control-allow-methods", ALLOW_METHODS);
      headers.set("access-control-allow-headers", ALLOW_HEADERS);
      headers.append("vary", "Access-Control-Request-Headers");
      return new Response(null, { headers, status: 204, statusText: "No Content" });
    }
    await next();
    // The finished answer: the route's, or the error wrapper's for what the route threw. (A
    // not-found thrown past every middleware is answered by hono itself, without these
    // headers, as it was with hono's cors().)
    const headers = c.res.headers;
    if (allowOrigin) headers.set("access-control-allow-origin", allowOrigin);
    headers.set("access-control-expose-headers", EXPOSE_HEADERS);
    headers.append("vary", "Origin");
  };
}
