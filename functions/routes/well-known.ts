/**
 * `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`:
 * the public keys and discovery document that verifiers (PostgREST, Storage,
 * Realtime, your backend) read, cacheable for five minutes.
 */
import { Hono } from "hono";
import type { AccessTokens } from "../access-token.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

const CACHE = { "cache-control": "public, max-age=300" };

/** The `/.well-known` sub-app (mounted at `/.well-known`). */
export function wellKnownRoutes(accessTokens: AccessTokens): Hono {
  const app = new Hono();
  app.get("/jwks.json", (c) => c.json(accessTokens.jwks, 200, CACHE));
  app.get("/openid-configuration", (c) => c.json(accessTokens.openidConfiguration, 200, CACHE));
  methodNotAllowed(app, "/jwks.json", "GET, HEAD");
  methodNotAllowed(app, "/openid-configuration", "GET, HEAD");
  return app;
}
