/**
 * The claims of a verified Clerk session token that sessionguard records on
 * the session (P15): the active organization, and when a factor was last
 * verified.
 *
 * Both token versions, per Clerk's docs (clerk/clerk-docs
 * `docs/guides/sessions/session-tokens.mdx`, "Default claims", tabs Version 2
 * and Version 1):
 *   - v2 (`v: 2`): an `o` object, present only while an organization is active,
 *     with `id`, `slg` (slug), `rol` (role "without the `org:` prefix"), `per`
 *     (comma-separated permission names) and `fpm` (per organization feature, a
 *     bitmask over `per`); the features are in `fea` (`o:<feature>` entries).
 *     Permissions are decoded as Clerk's own SDK does (clerk/javascript
 *     `packages/shared/src/jwtPayloadParser.ts`, `buildOrgPermissions`):
 *     feature i grants `org:<feature>:<per[j]>` where bit j of `fpm[i]`
 *     (most significant first, padded to the length of `per`) is 1.
 *   - v1: `org_id`, `org_role` (`org:admin`), `org_slug`, `org_permissions`
 *     (an array of `org:<feature>:<permission>`).
 * The role is kept as v1 and Clerk's webhooks name it (`org:admin`), so one
 * policy reads both versions and webhook updates alike.
 *
 * `fva` is `[first factor age, second factor age]` in minutes, -1 for never;
 * the latest verification is `iat` minus the smaller non-negative age. A claim
 * of the wrong shape refuses the token (the caller maps it to `invalid_token`).
 */

/** The active organization of a Clerk session. */
export interface OrgClaims {
  /** `org_...` */
  readonly id: string;
  /** `org:admin`, `org:member`, or a custom `org:<role>`. */
  readonly role: string | null;
  readonly slug: string | null;
  /** `org:<feature>:<permission>` */
  readonly permissions: readonly string[];
}

/** What the session records from a Clerk token besides its identity. */
export interface ClerkSessionClaims {
  readonly org: OrgClaims | null;
  /** When a factor was last verified, or null when the token says never. */
  readonly verifiedAt: Date | null;
}

const MAX_LENGTH = 255;
const MAX_PERMISSIONS = 500;

/** Reads the organization and verification claims; throws an Error naming the bad claim. */
export function parseClerkClaims(payload: Readonly<Record<string, unknown>>): ClerkSessionClaims {
  const org = payload.v === undefined || payload.v === 1 ? orgV1(payload) : orgV2(payload);
  return { org, verifiedAt: verifiedAt(payload.fva, payload.iat) };
}

function orgV1(payload: Readonly<Record<string, unknown>>): OrgClaims | null {
  const { org_id: id, org_role: role, org_slug: slug, org_permissions: permissions } = payload;
  if (id === undefined || id === null) return null;
  if (permissions !== undefined && !(Array.isArray(permissions) && permissions.every(isName))) {
    throw new Error("org_permissions is not a list of permission names");
  }
  return org(id, role, slug, (permissions as string[] | undefined) ?? []);
}

function orgV2(payload: Readonly<Record<string, unknown>>): OrgClaims | null {
  const o = payload.o;
  if (o === undefined || o === null) return null;
  if (typeof o !== "object" || Array.isArray(o)) throw new Error("o is not an object");
  const { id, rol, slg, per, fpm } = o as Record<string, unknown>;
  const names = commaList(per, "o.per");
  const masks = commaList(fpm, "o.fpm").map((mask) => {
    if (!/^\d{1,15}$/.test(mask)) throw new Error("o.fpm is not a list of integers");
    return Number(mask);
  });
  const features = commaList(payload.fea, "fea")
    .filter((entry) => entry.split(":")[0].includes("o"))
    .map((entry) => entry.split(":")[1] ?? "");
  const permissions: string[] = [];
  features.forEach((feature, i) => {
    if (i >= masks.length || feature === "") return;
    const bits = masks[i].toString(2).padStart(names.length, "0");
    for (let j = 0; j < names.length && j < bits.length; j++) {
      if (bits[j] === "1") permissions.push(`org:${feature}:${names[j]}`);
    }
  });
  const role = typeof rol === "string" && rol !== "" && !rol.startsWith("org:") ? `org:${rol}` : rol;
  return org(id, role, slg, permissions);
}

function org(id: unknown, role: unknown, slug: unknown, permissions: string[]): OrgClaims {
  if (!isName(id)) throw new Error("the organization id is not an id");
  if (role !== undefined && role !== null && !isName(role)) throw new Error("the organization role is malformed");
  if (slug !== undefined && slug !== null && !isName(slug)) throw new Error("the organization slug is malformed");
  if (permissions.length > MAX_PERMISSIONS || !permissions.every(isName)) {
    throw new Error("the organization permissions are malformed");
  }
  return {
    id,
    role: (role as string | null | undefined) ?? null,
    slug: (slug as string | null | undefined) ?? null,
    permissions: [...new Set(permissions)],
  };
}

function verifiedAt(fva: unknown, iat: unknown): Date | null {
  if (!Array.isArray(fva) || fva.length !== 2 || !fva.every(Number.isInteger) || typeof iat !== "number") {
    throw new Error("fva is not a pair of minutes");
  }
  const ages = (fva as number[]).filter((age) => age >= 0);
  return ages.length === 0 ? null : new Date((iat - Math.min(...ages) * 60) * 1000);
}

function commaList(value: unknown, name: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (typeof value !== "string" || value.length > 100_000) throw new Error(`${name} is not a comma-separated string`);
  return value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= MAX_LENGTH && !CONTROL.test(value);
}
