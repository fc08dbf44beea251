/**
 * Local mode's stand-in for Clerk's <OrganizationSwitcher/>: a labelled select of the
 * demo user's organizations (local-identity.ts). Picking one makes it active as
 * `setActive({ organization })` does in Clerk; useSessionSync then sends the next token
 * to POST /claims, and the notes list follows. No new sign-in. A switch the server refused
 * is said under the picker (`error`, useSessionSync's) until a later one succeeds.
 */
import type { LocalIdentity } from "./local-identity.ts";
import { demoOrganizations } from "./local-identity.ts";

export function OrganizationPicker({ identity, error }: { identity: LocalIdentity; error?: unknown }) {
  const organizations = demoOrganizations();
  return (
    <>
    <p>
      <label htmlFor="org-picker">Active organization</label>{" "}
      <select
        id="org-picker"
        value={identity.orgId ?? ""}
        onChange={(event) => identity.setOrganization(event.currentTarget.value || null)}
      >
        <option value="">Personal account (no organization)</option>
        {organizations.map((org) => <option key={org.id} value={org.id}>{org.name} ({org.role})</option>)}
      </select>
    </p>
    {error != null && (
      <p role="alert" className="notice" data-testid="org-switch-error">
        Could not switch organization: {String((error as Error)?.message ?? error)}
      </p>
    )}
    </>
  );
}

/** The demo organizations' names, for the notes list's heading line. */
export function localOrganizationName(orgId: string): string | undefined {
  return demoOrganizations().find((org) => org.id === orgId)?.name;
}
