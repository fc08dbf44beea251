/**
 * The session function's public face: the discovery document and JWKS that Supabase
 * (custom OIDC) or anyone else reads, and — with a Clerk token — one real sign-in whose
 * access token is checked against what was published.
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from "jose";
import { isLoopbackHostname } from "../../dev/loopback.ts";
import { fail, fetchWithin, type Finding, isLocal, jsonOf, pass, reachFix, skip, warn } from "./report.ts";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the later checks need from this one. */
export interface Published {
  readonly issuer: string | null;
  readonly keys: readonly JWK[];
  /** An access token from a real /start, when a Clerk token was given. */
  readonly accessToken: string | null;
}

/** Discovery and JWKS: served, public only, consistent with the issuer. */
export async function checkPublished(
  functionUrl: string,
  expectedIssuer: string | undefined,
  findings: Finding[],
): Promise<Published> {
  const none: Published = { issuer: null, keys: [], accessToken: null };
  const discoveryUrl = `${functionUrl}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetchWithin(discoveryUrl);
  } catch (error) {
    // Nothing answered: the address or the network is wrong, not the deployment.
    findings.push(
      fail("discovery document", (error as Error).message, reachFix(functionUrl, "--url / --function-url")),
    );
    return none;
  }
  const doc = await jsonOf(response) as Record<string, unknown> | null;
  if (response.status !== 200 || typeof doc?.issuer !== "string" || typeof doc.jwks_uri !== "string") {
    findings.push(fail(
      "discovery document",
      `${discoveryUrl} answered ${response.status}${doc?.error ? ` ${String(doc.error)}` : ""}`,
      response.status === 401
        ? "deploy with verify_jwt = false (supabase/config.toml does; or supabase functions deploy session --no-verify-jwt)"
        : response.status === 404
        ? isLocal(functionUrl)
          ? `the local stack serves the function at ${
            new URL(functionUrl).origin
          }/functions/v1/session: check --function-url`
          : "no function answers there: deploy it (supabase functions deploy session), or correct --function-url"
        : "check the function's logs (a bad setting makes it answer 500 and names the setting)",
    ));
    return none;
  }
  const issuer = doc.issuer;
  findings.push(pass("discovery document", `issuer ${issuer}`));

  const { protocol, hostname } = new URL(issuer);
  if (protocol !== "https:" && !isLoopbackHostname(hostname)) {
    findings.push(fail("issuer is https", issuer, "set SESSION_ISSUER to the function's https URL"));
  }
  if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
    findings.push(
      fail(
        "issuer",
        `${issuer}, expected ${expectedIssuer}`,
        "set SESSION_ISSUER to the issuer Supabase is configured with",
      ),
    );
  }
  const expectedJwksUri = `${issuer}/.well-known/jwks.json`;
  if (doc.jwks_uri !== expectedJwksUri) {
    findings.push(
      fail(
        "jwks_uri",
        `${String(doc.jwks_uri)}, expected ${expectedJwksUri}`,
        "SESSION_ISSUER must be the function's own URL",
      ),
    );
  }
  if (issuer !== functionUrl) {
    // Supabase reads <issuer>/.well-known/openid-configuration, not the URL given here.
    try {
      const atIssuer = await jsonOf(await fetchWithin(`${issuer}/.well-known/openid-configuration`)) as
        | Record<string, unknown>
        | null;
      if (atIssuer?.issuer === issuer) findings.push(pass("discovery at the issuer URL"));
      else {
        findings.push(
          fail(
            "discovery at the issuer URL",
            `${issuer}/.well-known/openid-configuration does not name this issuer`,
            "SESSION_ISSUER must be where the function is served",
          ),
        );
      }
    } catch (error) {
      findings.push(
        fail(
          "discovery at the issuer URL",
          (error as Error).message,
          "SESSION_ISSUER must be where the function is served",
        ),
      );
    }
  }

  let keys: JWK[] = [];
  try {
    const jwksResponse = await fetchWithin(String(doc.jwks_uri));
    const jwks = await jsonOf(jwksResponse) as { keys?: unknown } | null;
    if (jwksResponse.status !== 200 || !Array.isArray(jwks?.keys)) {
      findings.push(
        fail("JWKS", `${String(doc.jwks_uri)} answered ${jwksResponse.status}`, "check the function's logs"),
      );
      return { issuer, keys: [], accessToken: null };
    }
    keys = jwks.keys as JWK[];
  } catch (error) {
    findings.push(
      fail(
        "JWKS",
        (error as Error).message,
        `SESSION_ISSUER must be reachable: the JWKS is served under it (${
          reachFix(String(doc.jwks_uri), "SESSION_ISSUER")
        })`,
      ),
    );
    return { issuer, keys: [], accessToken: null };
  }
  const leaked = keys.filter((key) => PRIVATE_MEMBERS.some((member) => member in key));
  if (leaked.length > 0) {
    findings.push(
      fail(
        "JWKS is public only",
        `private members published for kid ${leaked.map((key) => key.kid).join(", ")}`,
        "stop the function and rotate those keys now: they are compromised",
      ),
    );
  } else {
    findings.push(
      pass(
        "JWKS is public only",
        keys.length === 0
          ? "empty (HS256, legacy secret)"
          : `${keys.length} key(s): ${keys.map((key) => key.kid).join(", ")}`,
      ),
    );
  }
  // supabase/cli v2.104.0, packages/api/src/generated/openapi.json, CreateSigningKeyBody:
  // private_jwk.kid has "format": "uuid". A custom OIDC provider takes any kid.
  const notUuid = keys.filter((key) => typeof key.kid === "string" && !UUID.test(key.kid));
  if (notUuid.length > 0) {
    findings.push(
      warn(
        "kid importable as a signing key",
        `kid ${notUuid.map((key) => key.kid).join(", ")} is not a UUID`,
        "Supabase's signing-key import (path A) refuses it: make a key with npx supabase gen signing-key --algorithm ES256 (docs/deploy.md); a custom OIDC provider (path B) takes any kid",
      ),
    );
  }
  const algs = doc.id_token_signing_alg_values_supported;
  const badKey = keys.find((key) =>
    key.kty !== "EC" || key.crv !== "P-256" || typeof key.kid !== "string" ||
    (key.alg !== undefined && key.alg !== "ES256")
  );
  const kids = keys.map((key) => key.kid);
  if (badKey || new Set(kids).size !== kids.length) {
    findings.push(
      fail("JWKS keys", "every key must be EC P-256 (ES256) with its own kid", "check SESSION_SIGNING_JWK"),
    );
  } else if (Array.isArray(algs) && (keys.length > 0) !== algs.includes("ES256")) {
    findings.push(
      fail(
        "algorithms",
        `discovery lists ${JSON.stringify(algs)} but the JWKS has ${keys.length} key(s)`,
        "redeploy the function",
      ),
    );
  } else {
    findings.push(pass("algorithms", Array.isArray(algs) ? algs.join(", ") : "not listed"));
  }
  return { issuer, keys, accessToken: null };
}

/** One real /start with a Clerk token; the access token is checked against the JWKS. */
export async function checkSignIn(
  functionUrl: string,
  published: Published,
  clerkToken: string | undefined,
  findings: Finding[],
): Promise<string | null> {
  if (!clerkToken) {
    findings.push(
      skip(
        "sign-in",
        "no --clerk-token-file (a fresh Clerk session token, valid 60 s; - reads it from standard input)",
      ),
    );
    return null;
  }
  let response: Response;
  try {
    response = await fetchWithin(`${functionUrl}/start`, {
      method: "POST",
      headers: { authorization: `Bearer ${clerkToken}`, "content-type": "application/json" },
      body: JSON.stringify({ device_name: "deployment check" }),
    });
  } catch (error) {
    findings.push(
      fail("sign-in (/start)", (error as Error).message, reachFix(functionUrl, "--function-url")),
    );
    return null;
  }
  const body = await jsonOf(response) as Record<string, unknown> | null;
  if (response.status !== 200 || typeof body?.access_token !== "string") {
    findings.push(fail(
      "sign-in (/start)",
      `${response.status} ${String(body?.error ?? "")}`.trim(),
      response.status === 401
        ? "the Clerk token was refused: it lives 60 s, so paste a fresh one; check CLERK_ISSUER and CLERK_AUTHORIZED_PARTIES"
        : "check the function's logs",
    ));
    return null;
  }
  const token = body.access_token;
  const header = decodeProtectedHeader(token);
  const claims = decodeJwt(token);
  findings.push(
    pass(
      "sign-in (/start)",
      `${header.alg} token${header.kid ? ` with kid ${header.kid}` : " without kid"}, expires in ${
        String(body.expires_in)
      } s`,
    ),
  );
  if (published.issuer !== null && claims.iss !== published.issuer) {
    findings.push(
      fail(
        "token issuer",
        `${String(claims.iss)} ≠ ${published.issuer}`,
        "SESSION_ISSUER must match the discovery document",
      ),
    );
  }
  if (claims.role !== "authenticated" || claims.aud !== "authenticated") {
    findings.push(
      fail(
        "role and aud claims",
        `role ${String(claims.role)}, aud ${String(claims.aud)}`,
        "redeploy an unmodified session function",
      ),
    );
  } else {
    findings.push(pass("role and aud claims", "authenticated"));
  }
  if (header.alg === "ES256") {
    try {
      await jwtVerify(token, createLocalJWKSet({ keys: [...published.keys] }), {
        issuer: published.issuer ?? undefined,
      });
      findings.push(pass("token verifies against the published JWKS"));
    } catch (error) {
      findings.push(
        fail(
          "token verifies against the published JWKS",
          (error as Error).message,
          "the signing key must be the first of SESSION_SIGNING_JWK, published under its kid",
        ),
      );
    }
  }
  return token;
}

/** Ends the check's own session again. */
export async function signOut(functionUrl: string, accessToken: string): Promise<void> {
  await fetchWithin(`${functionUrl}/signout`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: "{}",
  }).catch(() => {});
}
