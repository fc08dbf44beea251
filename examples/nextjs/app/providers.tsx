"use client";
/**
 * Client components share the server-held session through SessionGuardProvider. In Clerk
 * mode, a session that ended for a reason (theft, revocation) signs out of Clerk too.
 */
import { useClerk } from "@clerk/nextjs";
import { type PublicSession } from "@sessionguard/nextjs";
import { SessionGuardProvider, useSessionGuard } from "@sessionguard/nextjs/client";
import type { ReactNode } from "react";

interface Props {
  session: PublicSession | null;
  reason: string | null;
  clerk: boolean;
  children: ReactNode;
}

export function Providers(props: Props) {
  return props.clerk ? <WithClerk {...props} /> : (
    <SessionGuardProvider session={props.session} reason={props.reason}>{props.children}</SessionGuardProvider>
  );
}

function WithClerk(props: Props) {
  const clerk = useClerk();
  return (
    <SessionGuardProvider session={props.session} reason={props.reason} onSignedOut={() => void clerk.signOut()}>
      {props.children}
    </SessionGuardProvider>
  );
}

/** A client component reading the shared session: sign out of every other device. */
export function SignOutOthers() {
  const { session, signOut } = useSessionGuard();
  if (!session) return null;
  return <button type="button" onClick={() => void signOut("others")}>Sign out everywhere else</button>;
}
