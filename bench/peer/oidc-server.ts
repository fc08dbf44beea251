/**
 * The peer: node-oidc-provider (npm `oidc-provider`) on Node, configured to
 * rotate refresh tokens, answering its refresh_token grant at POST /token, in
 * one of two configurations (PEER_STORE):
 *
 *  - `postgres` (production): tokens in Postgres through ./pg-adapter.ts
 *    (durable commits), `rotateRefreshToken: true` (always), and on every
 *    refresh an ES256-signed JWT access token for a resource server, through
 *    resource indicators (`features.resourceIndicators`, `accessTokenFormat:
 *    'jwt'`), as sessionguard signs one for Supabase's Data API;
 *  - `memory`: the unbounded in-memory adapter (./map-adapter.ts) and opaque
 *    access tokens: nothing durable, nothing signed, what the provider's quick
 *    start runs. It skips the durable writes and the signature.
 *
 * Refresh tokens are minted in-process through its Grant and RefreshToken
 * models (scope `offline_access`, plus the resource's scope in production; no
 * `openid`, so no ID token is signed) and handed to the bench through a
 * separate control listener, so the measured port serves nothing but the
 * provider.
 *
 * Env: PORT (provider), PEER_STORE (`memory` default, or `postgres` with
 * DATABASE_URL); prints "peer: listening on <origin> control <origin>".
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";
import { MapAdapter } from "./map-adapter.ts";
import { PgAdapter, preparePeerSchema } from "./pg-adapter.ts";

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error("peer: PORT is required");
const store = process.env.PEER_STORE ?? "memory";
if (store !== "memory" && store !== "postgres") throw new Error("peer: PEER_STORE must be memory or postgres");
const production = store === "postgres";
const issuer = `http://127.0.0.1:${port}`;
const CLIENT_ID = "bench";
/** The resource server the production peer's JWT access tokens are for (as Supabase's Data API is ours'). */
const RESOURCE = "https://api.bench.invalid";
const RESOURCE_SCOPE = "api";

if (production) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("peer: PEER_STORE=postgres needs DATABASE_URL");
  await preparePeerSchema(url);
}

const rsa = (await generateKeyPair("RS256", { extractable: true })).privateKey;
const ec = (await generateKeyPair("ES256", { extractable: true })).privateKey;
const keys = [
  { ...(await exportJWK(rsa)), kid: "bench-rs256", alg: "RS256", use: "sig" },
  { ...(await exportJWK(ec)), kid: "bench-es256", alg: "ES256", use: "sig" },
];

const provider = new Provider(issuer, {
  adapter: production ? PgAdapter : MapAdapter,
  clients: [{
    client_id: CLIENT_ID,
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: ["https://client.invalid/callback"],
  }],
  rotateRefreshToken: true,
  scopes: ["openid", "offline_access", ...(production ? [RESOURCE_SCOPE] : [])],
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: production
      ? {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: RESOURCE_SCOPE,
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "ES256" } },
        }),
      }
      : { enabled: false },
  },
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  ttl: { AccessToken: 600, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600 },
  findAccount: (_ctx: unknown, accountId: string) => ({ accountId, claims: () => ({ sub: accountId }) }),
});
provider.on(
  "server_error",
  (_ctx: unknown, error: Error) => console.error(`peer: server_error ${error.stack}`),
);

/** A refresh token of a fresh grant, as the provider itself would have issued it at code exchange. */
async function mint(): Promise<string> {
  const accountId = `user_${randomBytes(9).toString("base64url")}`;
  const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
  grant.addOIDCScope("offline_access");
  if (production) grant.addResourceScope(RESOURCE, RESOURCE_SCOPE);
  const grantId = await grant.save();
  const client = await provider.Client.find(CLIENT_ID);
  const refreshToken = new provider.RefreshToken({
    accountId,
    client,
    grantId,
    scope: production ? `offline_access ${RESOURCE_SCOPE}` : "offline_access",
    ...(production ? { resource: RESOURCE } : {}),
    gty: "authorization_code",
    authTime: Math.floor(Date.now() / 1000),
  });
  return await refreshToken.save();
}

const server = provider.listen(port, "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", () => resolve()));

const control = http.createServer(async (request, response) => {
  const url = new URL(request.url ?? "/", "http://control");
  if (url.pathname !== "/mint") {
    response.writeHead(404).end();
    return;
  }
  const count = Math.min(10_000, Math.max(1, Number(url.searchParams.get("n")) || 1));
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(await mint());
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ tokens }));
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
const controlPort = (control.address() as AddressInfo).port;
console.log(`peer: listening on ${issuer} control http://127.0.0.1:${controlPort}`);

const stop = () => {
  server.close();
  control.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
