/**
 * The page: sign in (local development issuer or Clerk, through clerk-token.js), this
 * session with its refresh and sign-out buttons, the user's devices (<DeviceList/>) and
 * security events (<SecurityEvents/>) from @sessionguard/react, and in local development
 * the theft demo. Routine status goes to one polite live region (#status), theft and
 * revocation to `role="alert"` (#alert).
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
  formatTime,
  type ListHandle,
  SecurityEvents,
  useSession,
  useSessionClient,
} from "@sessionguard/react";
import { isSessionEnded, useBusy } from "./busy.ts";
import type { PageConfig } from "./config.ts";
import type { TokenSource } from "./identity.ts";
import { ReplayDemo } from "./ReplayDemo.tsx";

/** This page's words for why it is signed out (the package's for any other reason). */
const SIGNED_OUT_TEXT: Partial<Record<SignedOutReason, string>> = {
  signed_out: "You are signed out.",
  session_revoked: "This session was revoked (from another device, or after a security check). Sign in again.",
  session_expired: "This session expired. Sign in again.",
  refresh_token_reused:
    "Theft detected: an old refresh token of this session was used again, so the server revoked the session.",
  invalid_refresh_token: "The stored session was not valid. Sign in again.",
};
const signedOutText = (reason: SignedOutReason) => SIGNED_OUT_TEXT[reason] ?? describeSignOut(reason);

const THEFT_DEMO_TEXT = "Theft detected: the server saw a spent refresh token and revoked this session. " +
  "This device is signed out on its next request.";

export interface DevicesPageProps {
  config: PageConfig;
  identity: TokenSource;
  storage: StorageAdapter;
}

export function DevicesPage({ config, identity, storage }: DevicesPageProps) {
  const client = useSessionClient();
  const { status, userId, session, signOut } = useSession();
  const [statusText, setStatus] = useState("");
  const [alert, setAlert] = useState<string | null>(null);
  const [refreshes, setRefreshes] = useState(0);
  const [theft, setTheft] = useState(false);
  const [signIns, setSignIns] = useState(0);
  const [focusAccount, setFocusAccount] = useState(false);
  const busy = useBusy(setStatus);
  const devices = useRef<ListHandle>(null);
  const events = useRef<ListHandle>(null);
  const accountHeading = useRef<HTMLHeadingElement>(null);
  const local = config.identity.mode === "local";

  useEffect(() => {
    const offs = [
      client.on("tokensRefreshed", ({ source }) => {
        setRefreshes((n) => n + 1);
        if (source === "other-tab") setStatus("Another tab refreshed the session; this tab uses its tokens.");
      }),
      client.on("theftDetected", () => setAlert(signedOutText("refresh_token_reused"))),
      client.on("signedOut", ({ reason }) => {
        setStatus(signedOutText(reason));
        setAlert((shown) => {
          if (reason === "session_revoked" && shown) return shown; // keep the theft message
          if (reason !== "signed_out" && reason !== "refresh_token_reused") return signedOutText(reason);
          return shown;
        });
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }, [client]);

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

  /** Reloads both lists; a session that ended meanwhile has switched the page to signed-out. */
  const reloadLists = useCallback(async (done?: string) => {
    try {
      await Promise.all([devices.current?.reload(), events.current?.reload()]);
      if (done) setStatus(done);
    } catch (err) {
      if (!isSessionEnded(err)) throw err;
    }
  }, []);

  const signIn = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const field = event.currentTarget.elements.namedItem("device-name") as HTMLInputElement;
    const deviceName = field.value.trim() || describeUserAgent(navigator.userAgent) || "Browser";
    void busy.run("signin", async () => {
      setStatus("Signing in…");
      await client.start(await identity.getToken(), { deviceName });
      setAlert(null);
      setTheft(false);
      setSignIns((n) => n + 1);
      setStatus("Signed in.");
      setFocusAccount(true);
    });
  };

  const button = (id: string, label: string, action: () => Promise<void>) => (
    <button
      id={id}
      type="button"
      disabled={busy.is(id)}
      aria-busy={busy.is(id) || undefined}
      onClick={() => void busy.run(id, action)}
    >
      {label}
    </button>
  );

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header>
        <h1>Your devices</h1>
        {local && (
          <p id="mode-banner" className="banner">
            Local development: signed in by the local development issuer, not a real Clerk instance.
          </p>
        )}
      </header>

      <main id="main" tabIndex={-1}>
        <p id="status" role="status" aria-live="polite">{statusText}</p>
        <div id="alert" role="alert" className="alert" hidden={alert === null}>{alert}</div>

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

        <section id="signed-in" aria-labelledby="account-heading" hidden={status !== "signed-in"}>
          <h2 id="account-heading" tabIndex={-1} ref={accountHeading}>This session</h2>
          <p>
            Signed in as <strong id="user-id">{userId ?? ""}</strong>. Access token valid until{" "}
            <time id="token-expiry" dateTime={session ? new Date(session.expires_at * 1000).toISOString() : undefined}>
              {session ? formatTime(session.expires_at) : ""}
            </time>{" "}
            (<span id="refresh-count">{refreshes}</span> refreshes on this page).
          </p>
          <div className="actions">
            {button("refresh", "Refresh token now", async () => {
              await client.refresh();
              setStatus("Access token refreshed.");
            })}
            {button("reload", "Reload lists", () => reloadLists("Lists reloaded."))}
            {button("signout", "Sign out", () => signOut("local"))}
          </div>

          <div id="devices">
            <DeviceList
              ref={devices}
              title="Signed-in devices"
              announce={setStatus}
              messages={{
                thisDevice: "This device",
                revoked: (name) => `Revoked ${name}.`,
                signedOutOthers: "Signed out everywhere else.",
                reloaded: "Device list reloaded.",
              }}
            />
          </div>
          <div id="events">
            <SecurityEvents ref={events} title="Security events" />
          </div>

          {local && (
            <ReplayDemo
              key={signIns}
              storage={storage}
              sessionUrl={config.sessionUrl}
              onTheft={() => {
                setTheft(true);
                setAlert(THEFT_DEMO_TEXT);
              }}
              nextRequest={() => reloadLists()}
              run={(action) => busy.run("replay", action)}
              busy={busy.is("replay")}
            />
          )}
        </section>
      </main>
    </>
  );
}
