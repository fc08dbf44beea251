/**
 * What Supabase's Data API (PostgREST) makes of the function's access token, and
 * whether it exposes sessionguard's internal schema.
 *
 * PostgREST checks the JWT before it looks at the path (PostgREST `docs/references/
 * auth.rst`, `errors.rst`): 401 PGRST301 when no configured key verifies it (unknown
 * `kid`, wrong algorithm, wrong secret), 401 PGRST303 when its claims fail (`exp` beyond
 * the 30 s skew, `aud`; never `iss`: PostgREST does not read it, `src/PostgREST/Auth/Jwt.hs`),
 * and 401 naming the role when the `role` claim names a role the database lacks (since
 * 13.0.1, `src/PostgREST/Error.hs`, 22023 "role ... does not exist"; 400 before). A
 * schema outside "Exposed schemas" answers 406 PGRST106. A policy that casts the user
 * id to uuid, as `auth.uid()` does, fails the whole query with 400 22P02 for a Clerk
 * id (`user_...`).
 */
import { decodeProtectedHeader } from "jose";
import { fail, fetchWithin, type Finding, jsonOf, pass, reachFix, skip } from "./report.ts";

/** A relation that does not exist: reaching "not found" means the token was accepted. */
const PROBE = "sessionguard_deployment_check";

interface PostgrestError {
  readonly code?: string;
  readonly message?: string;
}

/** Calls the Data API with the access token and reports its verdict. */
export async function checkDataApi(
  restUrl: string,
  apikey: string | undefined,
  accessToken: string | null,
  table: string | undefined,
  findings: Finding[],
): Promise<void> {
  if (!apikey) {
    findings.push(
      skip("Data API accepts the access token", "no --apikey (the project's publishable or anon key)"),
    );
    findings.push(skip("sessionguard schema is not exposed", "no --apikey"));
    return;
  }
  if (accessToken === null) {
    findings.push(skip("Data API accepts the access token", "no access token (give --clerk-token-file)"));
  } else {
    await checkToken(restUrl, apikey, accessToken, table, findings);
  }
  await checkSchemaHidden(restUrl, apikey, findings);
}

async function checkToken(
  restUrl: string,
  apikey: string,
  accessToken: string,
  table: string | undefined,
  findings: Finding[],
): Promise<void> {
  const title = "Data API accepts the access token";
  const path = `${restUrl}/${encodeURIComponent(table ?? PROBE)}?select=*&limit=1`;
  let response: Response;
  try {
    response = await fetchWithin(path, { headers: { apikey, authorization: `Bearer ${accessToken}` } });
  } catch (error) {
    findings.push(fail(title, (error as Error).message, reachFix(restUrl, "--url / --rest-url")));
    return;
  }
  const body = (await jsonOf(response) ?? {}) as PostgrestError;
  const { alg, kid } = decodeProtectedHeader(accessToken);
  if (body.code === "PGRST301") {
    findings.push(
      fail(
        title,
        `401 PGRST301: no key the project trusts verifies this ${alg} token${kid ? ` (kid ${kid})` : ""}`,
        keyFix(alg, kid),
      ),
    );
  } else if (body.code === "PGRST303") {
    findings.push(
      fail(
        title,
        `401 PGRST303: ${body.message ?? "claims refused"}`,
        'the function\'s clock is off (PostgREST allows 30 s on exp, nbf and iat), or the project sets an audience other than "authenticated" (jwt-aud); PostgREST never checks iss, so SESSION_ISSUER is not the cause',
      ),
    );
  } else if (body.code === "22P02" && /uuid/i.test(body.message ?? "")) {
    findings.push(
      fail(
        title,
        `${response.status} 22P02: ${body.message}`,
        `a policy on ${
          table ?? "the table"
        } (or a function it calls) casts the user id to uuid, as auth.uid() does, and a Clerk user id ("user_...") is not a uuid: write (select sessionguard.user_id()) or (select auth.jwt() ->> 'sub') instead, and keep user id columns text (docs/deploy.md, "Policies")`,
      ),
    );
  } else if (/role .* does not exist/i.test(body.message ?? "")) {
    findings.push(
      fail(
        title,
        `role missing: ${body.message}`,
        'the token\'s role claim must name a database role; sessionguard signs role "authenticated", which every Supabase database has — is this a Supabase project?',
      ),
    );
  } else if (response.status === 401 || (response.status === 403 && body.code?.startsWith("PGRST3"))) {
    findings.push(
      fail(
        title,
        `${response.status} ${body.code ?? ""} ${body.message ?? ""}`.trim(),
        "check the apikey and the project's JWT settings",
      ),
    );
  } else if (response.ok || (!table && response.status === 404)) {
    findings.push(
      pass(
        title,
        table
          ? `${response.status} from ${table}, queried as the token's role`
          : `accepted (reached "not found" for a probe relation; give --table to run a query as the token's role)`,
      ),
    );
  } else {
    findings.push(
      fail(
        title,
        `${response.status} ${body.code ?? ""} ${body.message ?? ""}`.trim(),
        table ? `check that ${table} exists and is exposed` : "unexpected answer from the Data API",
      ),
    );
  }
}

function keyFix(alg: string | undefined, kid: string | undefined): string {
  if (alg === "ES256") {
    return `make the project trust the key: import SESSION_SIGNING_JWK as a JWT signing key under the same kid (${kid}), or register SESSION_ISSUER as a custom OIDC provider (keys are picked up within 30 minutes); see docs/deploy.md`;
  }
  if (kid) {
    return `SESSION_JWT_KID (${kid}) is not the id the project shows for its legacy JWT secret; use that id, or unset SESSION_JWT_KID if the project has not migrated to signing keys`;
  }
  return "SESSION_JWT_SECRET is not the project's legacy JWT secret, or that secret was revoked";
}

async function checkSchemaHidden(restUrl: string, apikey: string, findings: Finding[]): Promise<void> {
  const title = "sessionguard schema is not exposed";
  let response: Response;
  try {
    response = await fetchWithin(`${restUrl}/families?select=id&limit=0`, {
      headers: { apikey, "accept-profile": "sessionguard" },
    });
  } catch (error) {
    findings.push(fail(title, (error as Error).message, reachFix(restUrl, "--url / --rest-url")));
    return;
  }
  const body = (await jsonOf(response) ?? {}) as PostgrestError;
  if (response.status === 406 && body.code === "PGRST106") {
    findings.push(pass(title, "406 PGRST106"));
  } else {
    findings.push(
      fail(
        title,
        `the Data API answered ${response.status} ${body.code ?? ""} for schema sessionguard`.trim(),
        "remove sessionguard from Exposed schemas (Dashboard → Data API settings; [api] schemas in supabase/config.toml)",
      ),
    );
  }
}
