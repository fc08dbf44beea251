/**
 * The LOCAL DEVELOPMENT ISSUER — not Clerk.
 *
 * `npm start` runs it when no `CLERK_ISSUER` is configured, so the whole flow can be
 * tried offline: it signs Clerk-shaped v2 session tokens (RS256, `azp`, `sid`, `sts`,
 * `v: 2`, `nbf = iat - 10`, 60 s life) for demo users with a key generated on the
 * developer's machine (the token maker tests use too, scripts/lib/clerk-token.ts), and
 * publishes that key as a JWKS.
 *
 * It lives in dev/, outside supabase/functions/, and no deployed function imports it:
 * a deployment has no way to turn it on. Web-standard code (jose, `Request`,
 * `Response`), so the gateway runs it in Deno and tests can load it under Node.
 *
 *   GET <base>/clerk                                  what this is (JSON, labelled)
 *   GET <base>/clerk/.well-known/jwks.json            the public key
 *   GET <base>/clerk/.well-known/openid-configuration issuer and jwks_uri
 *   GET <base>/clerk-token[?user=<name>&sid=sess_...] {"token": "<Clerk-shaped token>"}
 *       [&org=org_...&role=<role>]                    with an active organization (v2 `o`)
 */
import { importJWK, type JWK } from "jose";
import { clerkId, publicJwks, signClerkToken } from "../scripts/lib/clerk-token.ts";

/** How the issuer introduces itself in logs, answers and the page. */
export const DEV_ISSUER_LABEL = "LOCAL DEVELOPMENT ISSUER — not Clerk";

/** `sub` of the default demo user; `?user=alice` gives `user_demo_alice`. */
export const DEMO_USER_ID = "user_demo";

const USER_PARAM = /^[A-Za-z0-9_-]{1,64}$/;
const SID_PARAM = /^sess_[A-Za-z0-9_]{1,64}$/;
const ORG_PARAM = /^org_[A-Za-z0-9_]{1,64}$/;
const ROLE_PARAM = /^[a-z_]{1,32}$/;

export interface DevIssuerOptions {
  /** Origin the issuer is served on, e.g. http://127.0.0.1:54321 */
  readonly origin: string;
  /** The RS256 private key as a JWK, with its `kid`. */
  readonly privateJwk: JWK & { kid: string };
  /** Origins a token may name in `azp`; the first is the default. */
  readonly authorizedParties: readonly string[];
  /** Clock, for tests. */
  readonly now?: () => Date;
  /** Where each issued token is reported. */
  readonly log?: (line: string) => void;
}

export interface DevIssuer {
  /** `iss` of its tokens: `<origin>/dev/clerk`. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly tokenUrl: string;
  /** Signs a token for `userId` (default {@link DEMO_USER_ID}). */
  token(options?: { userId?: string; sessionId?: string; azp?: string; org?: { id: string; role: string } }): Promise<string>;
  /** Answers `/dev/...` requests; null for any other path. */
  handle(request: Request): Promise<Response | null>;
}

/** Builds the issuer from its private key. */
export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  if ("EdgeRuntime" in globalThis) throw new Error(`${DEV_ISSUER_LABEL} cannot run in Supabase's Edge Runtime`);
  const origin = options.origin.replace(/\/+$/, "");
  const issuer = `${origin}/dev/clerk`;
  const jwksUrl = `${issuer}/.well-known/jwks.json`;
  const tokenUrl = `${origin}/dev/clerk-token`;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? ((line: string) => console.log(line));
  const { kid } = options.privateJwk;
  const key = await importJWK({ ...options.privateJwk, alg: "RS256" }, "RS256");
  const jwks = publicJwks(options.privateJwk, kid);
  const parties = options.authorizedParties.map((party) => party.replace(/\/+$/, ""));
  const defaultParty = parties[0] ?? origin;

  function token(
    claims: { userId?: string; sessionId?: string; azp?: string; org?: { id: string; role: string } } = {},
  ): Promise<string> {
    return signClerkToken({
      issuer,
      azp: claims.azp ?? defaultParty,
      key,
      kid,
      now: now(),
      claims: {
        sub: claims.userId ?? DEMO_USER_ID,
        sid: claims.sessionId ?? clerkId("sess"),
        // Clerk's v2 organization claim: role without the org: prefix (clerk-docs session-tokens.mdx).
        ...(claims.org ? { o: { id: claims.org.id, rol: claims.org.role, slg: claims.org.id.slice(4) } } : {}),
      },
    });
  }

  async function handle(request: Request): Promise<Response | null> {
    const { pathname, searchParams } = new URL(request.url);
    if (pathname !== "/dev" && !pathname.startsWith("/dev/")) return null;
    const routes: Record<string, () => Promise<Response> | Response> = {
      "/dev/clerk": () =>
        json({ label: DEV_ISSUER_LABEL, issuer, jwks_uri: jwksUrl, token_endpoint: tokenUrl }),
      "/dev/clerk/.well-known/jwks.json": () => json(jwks, { "cache-control": "public, max-age=60" }),
      "/dev/clerk/.well-known/openid-configuration": () =>
        json({ issuer, jwks_uri: jwksUrl, id_token_signing_alg_values_supported: ["RS256"] }),
      "/dev/clerk-token": async () => {
        const user = searchParams.get("user");
        const sid = searchParams.get("sid");
        const org = searchParams.get("org");
        const role = searchParams.get("role") ?? "member";
        if (
          (user !== null && !USER_PARAM.test(user)) || (sid !== null && !SID_PARAM.test(sid)) ||
          (org !== null && !ORG_PARAM.test(org)) || !ROLE_PARAM.test(role)
        ) {
          return json(
            {
              error: "invalid_request",
              error_description:
                "user must be 1-64 letters, digits, _ or -; sid must look like sess_...; org like org_...; role a-z or _",
            },
            {},
            400,
          );
        }
        const userId = user === null
          ? DEMO_USER_ID
          : user.startsWith("user_")
          ? user
          : `${DEMO_USER_ID}_${user}`;
        // Clerk names the page's origin in azp; mirror that for the origins this stack allows.
        const requestOrigin = request.headers.get("origin");
        const azp = requestOrigin !== null && parties.includes(requestOrigin) ? requestOrigin : defaultParty;
        const sessionId = sid ?? clerkId("sess");
        const signed = await token({ userId, sessionId, azp, ...(org === null ? {} : { org: { id: org, role } }) });
        log(`${DEV_ISSUER_LABEL}: signed a session token for ${userId} (${sessionId})`);
        return json({ token: signed }, { "cache-control": "no-store" });
      },
    };
    const route = routes[pathname.replace(/\/+$/, "")];
    if (route === undefined) return json({ error: "not_found", error_description: "Not found." }, {}, 404);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json(
        { error: "method_not_allowed", error_description: "Use GET." },
        { allow: "GET, HEAD" },
        405,
      );
    }
    const response = await route();
    const requestOrigin = request.headers.get("origin");
    if (requestOrigin !== null && parties.includes(requestOrigin)) {
      response.headers.set("access-control-allow-origin", requestOrigin);
      response.headers.append("vary", "Origin");
    }
    return response;
  }

  return { issuer, jwksUrl, tokenUrl, token, handle };
}

function json(body: unknown, headers: Record<string, string> = {}, status = 200): Response {
  return Response.json(body, { status, headers: { ...headers, "x-sessionguard-dev-issuer": "local" } });
}
