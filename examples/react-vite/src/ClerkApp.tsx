/**
 * Clerk mode (`VITE_CLERK_PUBLISHABLE_KEY` set): Clerk's own <SignIn/>, and
 * <ClerkSessionSync/> starting one sessionguard session per Clerk session.
 */
import { ClerkProvider, Show, SignIn } from "@clerk/react";
import { ClerkSessionSync } from "@sessionguard/react/clerk";
import { Account } from "./Account.tsx";

export function ClerkApp({ publishableKey }: { publishableKey: string }) {
  return (
    <ClerkProvider publishableKey={publishableKey}>
      <ClerkSessionSync />
      <Account
        signIn={
          <Show when="signed-out">
            <SignIn routing="hash" />
          </Show>
        }
      />
    </ClerkProvider>
  );
}
