/**
 * Clerk mode (`VITE_CLERK_PUBLISHABLE_KEY` set): Clerk's own <SignIn/>, and
 * <ClerkSessionSync/> starting one sessionguard session per Clerk session. Clerk's
 * <OrganizationSwitcher/> picks the active organization; <ClerkSessionSync/> sees
 * `useAuth().orgId` change and sends the fresh token to POST /claims, so the notes
 * policies see the new organization on the next query, without a new sign-in.
 */
import { ClerkProvider, OrganizationSwitcher, Show, SignIn, useOrganization } from "@clerk/react";
import { ClerkSessionSync } from "@sessionguard/react/clerk";
import { Account } from "./Account.tsx";

export function ClerkApp({ publishableKey }: { publishableKey: string }) {
  return (
    <ClerkProvider publishableKey={publishableKey}>
      <ClerkSessionSync />
      <ClerkAccount />
    </ClerkProvider>
  );
}

function ClerkAccount() {
  const { organization } = useOrganization();
  return (
    <Account
      signIn={
        <Show when="signed-out">
          <SignIn routing="hash" />
        </Show>
      }
      // Personal account included: no organization active shows the personal notes.
      organization={<div className="org-switcher"><OrganizationSwitcher hidePersonal={false} /></div>}
      organizationName={(orgId) => (orgId === organization?.id ? organization.name : undefined)}
    />
  );
}
