// The Clerk glue (<ClerkSessionSync/>) under the real @clerk/react, with a stand-in clerk-js.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ClerkProvider, useAuth } from "@clerk/react";
import { createSessionClient, defaultStorage } from "@sessionguard/client";
import { SessionGuardProvider, useSession } from "@sessionguard/react";
import { ClerkSessionSync } from "@sessionguard/react/clerk";
import { FakeClerk } from "./fake-clerk.ts";

const clerk = new FakeClerk();
const storage = defaultStorage();
// Unbound: the theft test replays the stored refresh token as a thief without the device key
// would, which only an unbound session lets rotate (the SDK binds by default).
const client = createSessionClient({ url: `${location.origin}/functions/v1/session`, storage, dpop: false });
Object.assign(window, { fakeClerk: clerk, glue: { client, storage } });
// A well-formed development key (pk_test_ + base64 of "<frontend API>$"); nothing is fetched.
const publishableKey = `pk_test_${btoa("glue-test.clerk.accounts.dev$")}`;

function Status() {
  const auth = useAuth();
  const session = useSession();
  return (
    <main>
      <p data-testid="clerk">{auth.isLoaded ? (auth.isSignedIn ? auth.userId : "signed-out") : "loading"}</p>
      <p data-testid="sessionguard">{session.status}{session.userId ? ` ${session.userId}` : ""}</p>
      <p data-testid="reason">{session.signedOutReason ?? ""}</p>
      <p data-testid="org">{auth.orgId ?? ""}</p>
    </main>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ClerkProvider publishableKey={publishableKey} Clerk={clerk as never} experimental={{ runtimeEnvironment: "headless" }}>
      <SessionGuardProvider client={client}>
        <ClerkSessionSync deviceName="Clerk glue" />
        <Status />
      </SessionGuardProvider>
    </ClerkProvider>
  </StrictMode>,
);
