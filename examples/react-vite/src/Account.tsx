/**
 * The signed-in page, shared by both sign-in modes: who is signed in, the notes, "your
 * devices" and security activity from @sessionguard/react, and the reason for the last
 * sign-out (theft included) announced in an alert. When a session ends by revocation or
 * theft, that story (the alert, the activity as last shown, the theft demo's log) stays on
 * screen until "Dismiss" or the next sign-in.
 */
import { type ReactNode, useEffect, useState } from "react";
import { DeviceList, describeSignOut, SecurityEvents, useSession } from "@sessionguard/react";
import { Notes, type OrganizationName } from "./Notes.tsx";

/** What the developer tools get: whether the story is still on screen, and a way to end it. */
export interface StoryProps {
  dismissed: boolean;
  onDismiss(): void;
}

export function Account(
  { signIn, devTools, banner, organization, organizationName }: {
    signIn: ReactNode;
    devTools?: (story: StoryProps) => ReactNode;
    banner?: ReactNode;
    /** Shows and switches the active organization (Clerk's <OrganizationSwitcher/>, or the local picker). */
    organization?: ReactNode;
    organizationName?: OrganizationName;
  },
) {
  const { status, userId, signOut, signedOutReason, theftDetected } = useSession();
  const [dismissed, setDismissed] = useState(false);

  // Counts mounts, so the browser test can tell that strict mode really mounted twice.
  useEffect(() => {
    const w = window as unknown as { exampleMounts?: number };
    w.exampleMounts = (w.exampleMounts ?? 0) + 1;
  }, []);
  useEffect(() => {
    if (status === "signed-in") setDismissed(false);
  }, [status]);

  const ended = status === "signed-out" && signedOutReason !== null && signedOutReason !== "signed_out";
  const story = ended && !dismissed;
  return (
    <>
      <header className="page-header">
        <h1>Notes</h1>
        {banner}
      </header>
      <main id="main">
        {story && (
          <div role="alert" className={theftDetected ? "notice notice--theft" : "notice"} data-reason={signedOutReason}>
            {describeSignOut(signedOutReason)}
          </div>
        )}
        {story && (
          <p>
            <button type="button" className="sg-button" onClick={() => setDismissed(true)}>Dismiss</button>
          </p>
        )}
        {status === "loading" && <p aria-busy="true">Loading…</p>}
        {status === "signed-out" && signIn}
        {status === "signed-in" && (
          <>
            <section aria-labelledby="who" className="card">
              <h2 id="who">Signed in</h2>
              <p>Signed in as <strong data-testid="user-id">{userId}</strong>.</p>
              {organization}
              <button type="button" className="sg-button" onClick={() => void signOut("local")}>Sign out</button>
            </section>
            <Notes organizationName={organizationName} />
            <DeviceList />
          </>
        )}
        {/* Mounted across the sign-out, so it can keep the activity it last showed. */}
        {(status === "signed-in" || story) && <SecurityEvents keepAfterSignOut />}
        {devTools?.({ dismissed: !story && status !== "signed-in", onDismiss: () => setDismissed(true) })}
      </main>
    </>
  );
}
