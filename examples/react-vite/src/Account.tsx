/**
 * The signed-in page, shared by both sign-in modes: who is signed in, the notes, "your
 * devices" and security activity from @sessionguard/react, and the reason for the last
 * sign-out (theft included) announced in an alert.
 */
import { type ReactNode, useEffect } from "react";
import { DeviceList, describeSignOut, SecurityEvents, useSession } from "@sessionguard/react";
import { Notes } from "./Notes.tsx";

export function Account({ signIn, devTools, banner }: { signIn: ReactNode; devTools?: ReactNode; banner?: ReactNode }) {
  const { status, userId, expiresAt, signOut, signedOutReason, theftDetected } = useSession();

  // Counts mounts, so the browser test can tell that strict mode really mounted twice.
  useEffect(() => {
    const w = window as unknown as { exampleMounts?: number };
    w.exampleMounts = (w.exampleMounts ?? 0) + 1;
  }, []);

  const ended = status === "signed-out" && signedOutReason && signedOutReason !== "signed_out";
  return (
    <>
      <header className="page-header">
        <h1>Notes</h1>
        {banner}
      </header>
      <main id="main">
        {ended && (
          <div role="alert" className={theftDetected ? "notice notice--theft" : "notice"} data-reason={signedOutReason}>
            {describeSignOut(signedOutReason)}
          </div>
        )}
        {status === "loading" && <p aria-busy="true">Loading…</p>}
        {status === "signed-out" && signIn}
        {status === "signed-in" && (
          <>
            <section aria-labelledby="who" className="card">
              <h2 id="who">Signed in</h2>
              <p>
                Signed in as <strong data-testid="user-id">{userId}</strong>. Access token valid until{" "}
                <time dateTime={expiresAt?.toISOString()}>{expiresAt?.toLocaleTimeString()}</time>.
              </p>
              <button type="button" className="sg-button" onClick={() => void signOut("local")}>Sign out</button>
            </section>
            <Notes />
            <DeviceList />
            <SecurityEvents />
            {devTools}
          </>
        )}
      </main>
    </>
  );
}
