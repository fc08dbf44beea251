/**
 * The page: sign in (local development issuer or Clerk, through clerk-token.js), who is
 * signed in with one "Sign out", the user's devices (<DeviceList/>) and security activity
 * (<SecurityEvents/>) from @sessionguard/react, which keep themselves current, and in local
 * development the developer tools and the theft demo. Routine status goes to one polite live
 * region (#status); why this device was signed out to `role="alert"` (#alert), one sentence
 * per state. When a session ends by revocation or theft, the story (that sentence, the
 * demo's log, the activity as last shown) stays on screen until the user dismisses it or
 * signs in again.
 *
 * For tests it marks its state on <body>: `data-ready`, `data-state` (`signed-in` /
 * `signed-out`), `data-refreshes`, `data-theft`.
 */
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import type { SignedOutReason, StorageAdapter } from "@sessionguard/client";
import {
  describeSignOut,
  describeUserAgent,
  DeviceList,
  type ListHandle,
  SecurityEvents,
  useSession,
  useSessionClient,
} from "@sessionguard/react";
import { isSessionEnded, useBusy } from "./busy.ts";
import type { PageConfig } from "./config.ts";
import type { TokenSource } from "./identity.ts";
import { DevTools } from "./DevTools.tsx";

/** This page's words for why it is signed out (the package's for any other reason). */
const SIGNED_OUT_TEXT: Partial<Record<SignedOutReason, string>> = {
  session_revoked: "This browser was signed out: its session was ended from another device. Sign in again.",
  session_expired: "This browser was signed out because its session expired. Sign in again.",
  invalid_refresh_token: "This browser was signed out because its saved session was not valid. Sign in again.",
};
const THEFT_TEXT = "Theft detected: an old sign-in token of this browser was used again, so the server ended the " +
  "session and signed this browser out. Sign in again, then check your devices.";
const signedOutText = (reason: SignedOutReason) => SIGNED_OUT_TEXT[reason] ?? describeSignOut(reason);

export interface DevicesPageProps {
  config: PageConfig;
  identity: TokenSource;
  storage: StorageAdapter;
}

export function DevicesPage({ config, identity, storage }: DevicesPageProps) {
  const client = useSessionClient();
  const { status, userId, signOut } = useSession();
  const [statusText, setStatus] = useState("");
  /** Why this browser was signed out, until dismissed or signed in again. */
  const [alert, setAlert] = useState<string | null>(null);
  const [replayLog, setReplayLog] = useState("");
  const [refreshes, setRefreshes] = useState(0);
  const [theft, setTheft] = useState(false);
  const theftSeen = useRef(false);
  const [focusAccount, setFocusAccount] = useState(false);
  const busy = useBusy(setStatus);
  const devices = useRef<ListHandle>(null);
  const events = useRef<ListHandle>(null);
  const accountHeading = useRef<HTMLHeadingElement>(null);
  const local = config.identity.mode === "local";

  const markTheft = useCallback(() => {
    theftSeen.current = true;
    setTheft(true);
    setAlert(THEFT_TEXT);
  }, []);

  useEffect(() => {
    const offs = [
      client.on("tokensRefreshed", () => setRefreshes((n) => n + 1)),
      client.on("theftDetected", markTheft),
      client.on("signedOut", ({ reason }) => {
        if (reason === "signed_out") {
          setStatus(signedOutText(reason));
        } else {
          setStatus(""); // the alert says it, once
          setAlert(theftSeen.current ? THEFT_TEXT : signedOutText(reason));
        }
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }, [client, markTheft]);

  // The page's state on <body>, for tests.
  useEffect(() => {
    const data = document.body.dataset;
    if (status === "loading") return;
    data.state = status;
    data.ready = "true";
  }, [status]);
  useEffect(() => {
    if (refreshes > 0) document.body.dataset.refreshes = String(refreshes);
  }, [refreshes]);
  useEffect(() => {
    if (theft) document.body.dataset.theft = "detected";
    else delete document.body.dataset.theft;
  }, [theft]);
  useEffect(() => {
    if (!focusAccount || status !== "signed-in") return;
    accountHeading.current?.focus();
    setFocusAccount(false);
  }, [focusAccount, status]);

  /** Reloads both lists now; a session that ended meanwhile has switched the page to signed-out. */
  const reloadLists = useCallback(async (done?: string) => {
    try {
      await Promise.all([devices.current?.reload(), events.current?.reload()]);
      if (done) setStatus(done);
    } catch (err) {
      if (!isSessionEnded(err)) throw err;
    }
  }, []);

  const dismiss = () => {
    setAlert(null);
    setReplayLog("");
    theftSeen.current = false;
    setTheft(false);
  };

  const signIn = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const field = event.currentTarget.elements.namedItem("device-name") as HTMLInputElement;
    const deviceName = field.value.trim() || describeUserAgent(navigator.userAgent) || "Browser";
    void busy.run("signin", async () => {
      setStatus("Signing in…");
      await client.start(await identity.getToken(), { deviceName });
      dismiss();
      setStatus("Signed in.");
      setFocusAccount(true);
    });
  };

  const signedIn = status === "signed-in";
  const story = status === "signed-out" && (alert !== null || replayLog !== "");

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header>
        <h1>Your devices</h1>
        {local && (
          <p id="mode-banner" className="banner">
            Local development: sign-in on this page uses the local development issuer of <code>npm start</code>, not a
            real Clerk instance.
          </p>
        )}
      </header>

      <main id="main" tabIndex={-1}>
        <p id="status" role="status" aria-live="polite">{statusText}</p>
        <div id="alert" role="alert" className="alert" hidden={alert === null}>{alert}</div>
        {story && (
          <p>
            <button id="dismiss" type="button" className="secondary" onClick={dismiss}>Dismiss this message</button>
          </p>
        )}

        <section id="signed-out" aria-labelledby="signin-heading" hidden={status !== "signed-out"}>
          <h2 id="signin-heading" tabIndex={-1}>Sign in</h2>
          <form id="signin-form" onSubmit={signIn}>
            <label htmlFor="device-name">Name this device</label>
            <input id="device-name" name="device-name" autoComplete="off" maxLength={100} placeholder="e.g. Work laptop" />
            <button id="signin" type="submit" disabled={busy.is("signin")} aria-busy={busy.is("signin") || undefined}>
              {identity.label}
            </button>
          </form>
        </section>

        <section id="signed-in" aria-labelledby="account-heading" hidden={!signedIn}>
          <h2 id="account-heading" tabIndex={-1} ref={accountHeading}>Your account</h2>
          <p>Signed in as <strong id="user-id">{userId ?? ""}</strong>.</p>
          <div className="actions">
            <button
              id="signout"
              type="button"
              disabled={busy.is("signout")}
              onClick={() => void busy.run("signout", () => signOut("local"))}
            >
              Sign out
            </button>
          </div>

          <div id="devices">
            <DeviceList
              ref={devices}
              title="Signed-in devices"
              announce={setStatus}
              messages={{
                thisDevice: "This device",
                revoked: (name) => `Signed out ${name}.`,
                signedOutOthers: "Signed out everywhere else.",
              }}
            />
          </div>
        </section>

        <div id="events" hidden={!signedIn && !story}>
          <SecurityEvents ref={events} title="Security activity" keepAfterSignOut />
        </div>

        {local && (signedIn || replayLog !== "") && (
          <DevTools
            storage={storage}
            sessionUrl={config.sessionUrl}
            signedIn={signedIn}
            log={replayLog}
            onLog={setReplayLog}
            onTheft={markTheft}
            onRefreshed={() => setStatus("Access token refreshed.")}
            reloadLists={reloadLists}
            busy={busy}
          />
        )}
      </main>
    </>
  );
}
