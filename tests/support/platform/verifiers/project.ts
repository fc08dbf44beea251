/**
 * How a hosted Supabase project configures the services that read a JWT, for each of
 * the three ways sessionguard's tokens can be trusted (docs/deploy.md):
 *
 * - legacy secret, not migrated: every service holds the HS256 secret only;
 * - legacy secret after "Migrate JWT secret": the secret becomes a signing key with an
 *   id the dashboard shows (SESSION_JWT_KID), next to a standby key of Supabase's own
 *   (supabase/supabase `apps/docs/content/guides/auth/signing-keys.mdx`, "Getting
 *   started");
 * - an imported ES256 key: the key's public half, under the `kid` given at import
 *   ("You must set the same value when importing", same page, FAQ), trusted while it is
 *   standby, in use or previously used; the legacy secret stays until revoked;
 * - a custom OIDC provider: the provider's JWKS, read from the discovery document's
 *   `jwks_uri`, trusted by the Data API, Storage and Realtime next to the project's own
 *   keys (`apps/docs/content/guides/auth/third-party/overview.mdx`, "How does it work?").
 *
 * Where the services hold the keys is an assumption: PostgREST's `jwt-secret` as the
 * JWK set of every trusted key, Storage's and Realtime's JWT secret plus the same set.
 * Before migration, the sources allow two shapes, so both are modelled: the legacy
 * secret as a bare string (no `kid`), or, if the project's Auth signs with a key id
 * (supabase/auth `internal/conf/configuration.go`, `applyDefaultsJWTPrivateKey`, sets
 * `GOTRUE_JWT_KEY_ID` as the secret's `kid`; `internal/tokens/service.go` puts it in
 * the header; at v2.196.0, commit bc32168e; Realtime's source says most Auth HS256
 * tokens carry one), that secret under that id in PostgREST's set, since PostgREST
 * would refuse Auth's own tokens otherwise. What a project really holds can be checked
 * only on a hosted project (docs/deploy.md, "What the check verifies").
 */
import type { JWK } from "jose";
import type { PostgrestConfig } from "./postgrest.ts";
import type { RealtimeConfig } from "./realtime.ts";
import type { StorageConfig } from "./storage.ts";

/** One project's settings for each service. */
export interface HostedProject {
  readonly label: string;
  readonly postgrest: PostgrestConfig;
  readonly storage: StorageConfig;
  readonly realtime: RealtimeConfig;
}

const ANON = "anon";

function project(label: string, secret: string, keys: readonly JWK[] | null): HostedProject {
  const jwks = keys === null ? null : { keys };
  return {
    label,
    postgrest: { jwtSecret: jwks ?? secret, anonRole: ANON },
    storage: { jwtSecret: secret, jwks },
    realtime: { jwtSecret: secret, jwtJwks: jwks },
  };
}

/** The legacy secret as an `oct` signing key, as the migration imports it. */
export function legacyKey(secret: string, kid: string): JWK {
  return { kty: "oct", k: Buffer.from(secret).toString("base64url"), kid, alg: "HS256" };
}

/** A project that still uses only its legacy JWT secret. */
export function legacyProject(secret: string): HostedProject {
  return project("legacy secret (not migrated)", secret, null);
}

/**
 * A project that has not migrated, whose Auth signs its HS256 tokens with key id `authKid`:
 * the Data API must hold the secret under that id to accept Auth's own tokens.
 */
export function legacyProjectWithAuthKid(secret: string, authKid: string): HostedProject {
  return {
    ...project("legacy secret (not migrated, Auth signs with a kid)", secret, null),
    postgrest: { jwtSecret: { keys: [legacyKey(secret, authKid)] }, anonRole: ANON },
  };
}

/** A project that migrated: the legacy secret keeps its id, Supabase adds a standby key. */
export function migratedLegacyProject(secret: string, legacyKid: string, supabaseKey: JWK): HostedProject {
  return project("legacy secret (migrated to signing keys)", secret, [
    legacyKey(secret, legacyKid),
    supabaseKey,
  ]);
}

/** A project with sessionguard's ES256 key(s) imported as signing keys. */
export function importedKeyProject(
  secret: string,
  legacyKid: string,
  imported: readonly JWK[],
): HostedProject {
  return project("imported ES256 signing key", secret, [...imported, legacyKey(secret, legacyKid)]);
}

/** A project with sessionguard registered as a custom OIDC (third-party) provider. */
export function thirdPartyProject(
  secret: string,
  legacyKid: string,
  supabaseKey: JWK,
  providerJwks: readonly JWK[],
): HostedProject {
  return project("custom OIDC provider", secret, [
    supabaseKey,
    legacyKey(secret, legacyKid),
    ...providerJwks,
  ]);
}
