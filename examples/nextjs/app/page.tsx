/**
 * The one page, rendered on the server as the signed-in user: the notes (Data API, RLS),
 * the device list and the security events (the session function), the theft demo.
 * It only reads the session: the proxy refreshed it before this render.
 */
import { SignInButton, SignOutButton } from "@clerk/nextjs";
import { createServerSupabase, getCsrfToken, getSession, getSignedOutReason } from "@sessionguard/nextjs/server";
import { type CookieSession, SessionGuardError, SIGNED_OUT_REASONS } from "@sessionguard/server";
import { guard } from "../lib/guard.ts";
import { settings } from "../lib/settings.ts";
import { addNote, revokeDevice, signInLocally, signOut, simulateTheft } from "./actions.ts";
import { SignOutOthers } from "./providers.tsx";

export const dynamic = "force-dynamic";

const time = (unix: number) => new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";

export default async function Page() {
  const [session, kept, csrf] = await Promise.all([getSession(guard()), getSignedOutReason(guard()), getCsrfToken(guard())]);
  let reason = kept;
  let account: Awaited<ReturnType<typeof loadAccount>> | null = null;
  if (session) {
    try {
      account = await loadAccount(session);
    } catch (err) {
      // Revoked since the proxy looked: show it now; the next request's proxy clears the cookie.
      if (!(SessionGuardError.is(err) && err.terminal)) throw err;
      reason = err.code;
    }
  }
  const Csrf = () => <input type="hidden" name="csrf_token" value={csrf} />;

  return (
    <main>
      <h1>Notes</h1>
      {!settings.clerk && (
        <p className="banner" data-testid="dev-issuer">
          Signed in through the LOCAL DEVELOPMENT ISSUER — not Clerk. Set NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY and
          CLERK_SECRET_KEY to sign in with Clerk.
        </p>
      )}
      {reason && (
        <p role="alert" data-reason={reason}>{SIGNED_OUT_REASONS[reason] ?? "You were signed out."}</p>
      )}
      {!account ? <SignedOut csrf={<Csrf />} /> : (
        <>
          <h2>Signed in</h2>
          <p>
            User <code data-testid="user-id">{account.session.userId}</code>, session{" "}
            <code data-testid="session-id">{account.session.sessionId}</code>; access token valid until{" "}
            {time(account.session.expiresAt)}.
          </p>
          <form action={signOut} className="inline">
            <Csrf />
            <button type="submit">Sign out</button>
          </form>{" "}
          {settings.clerk && <SignOutButton>Sign out of Clerk</SignOutButton>} <SignOutOthers />

          <section aria-labelledby="notes">
            <h2 id="notes">Your notes</h2>
            {account.notes.error ? <p data-testid="notes-error">{account.notes.error}</p> : (
              <ul data-testid="notes">
                {account.notes.rows.map((note) => <li key={note.id}>{note.body}</li>)}
              </ul>
            )}
            <form action={addNote}>
              <Csrf />
              <label>
                New note <input name="body" required maxLength={500} />
              </label>{" "}
              <button type="submit">Add</button>
            </form>
          </section>

          <section aria-labelledby="devices">
            <h2 id="devices">Your devices</h2>
            <table className="sg-devices">
              <thead>
                <tr><th>Device</th><th>Last active</th><th>Address</th><th /></tr>
              </thead>
              <tbody>
                {account.devices.map((d) => (
                  <tr key={d.id} data-current={d.current || undefined} data-session-id={d.id}>
                    <td>{d.device_name ?? d.user_agent ?? "Unknown device"}{d.current && " (this browser)"}</td>
                    <td>{time(d.last_active_at)}</td>
                    <td>{d.ip ?? ""}</td>
                    <td>
                      {!d.current && (
                        <form action={revokeDevice} className="inline">
                          <Csrf />
                          <input type="hidden" name="session_id" value={d.id} />
                          <button type="submit">Revoke {d.device_name ?? "device"}</button>
                        </form>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="events">
            <h2 id="events">Security activity</h2>
            <ul className="sg-events">
              {account.events.map((e) => <li key={e.id} data-type={e.type}>{time(e.created_at)}: {e.description}</li>)}
            </ul>
          </section>

          <section aria-labelledby="theft">
            <h2 id="theft">Theft demo</h2>
            <p>
              A thief with a copy of this browser's session cookie refreshes it twice; this browser's next refresh then
              presents its own, now spent, copy.
            </p>
            <form action={simulateTheft}>
              <Csrf />
              <button type="submit">Simulate a stolen session cookie</button>
            </form>
          </section>
        </>
      )}
    </main>
  );
}

function SignedOut({ csrf }: { csrf: React.ReactNode }) {
  if (settings.clerk) return <SignInButton>Sign in with Clerk</SignInButton>;
  return (
    <form action={signInLocally}>
      {csrf}
      <label>
        Demo user <input name="user" defaultValue="demo" pattern="[A-Za-z0-9_\-]{1,64}" />
      </label>{" "}
      <label>
        Name this device <input name="device" maxLength={80} />
      </label>{" "}
      <button type="submit">Sign in as the demo user</button>
    </form>
  );
}

/** Everything the page shows about the account, read as the user. */
async function loadAccount(session: CookieSession) {
  const g = await guard();
  const [devices, events, notes] = await Promise.all([g.devices(session), g.events(session), loadNotes()]);
  return { session, devices, events, notes };
}

async function loadNotes(): Promise<{ rows: { id: string; body: string }[]; error: string | null }> {
  const supabase = await createServerSupabase(guard(), settings.supabase);
  if (!supabase) return { rows: [], error: "Not signed in." };
  try {
    const { data, error } = await supabase.from("notes").select("id, body").order("created_at", { ascending: false });
    if (error) return { rows: [], error: `The Data API at ${settings.supabase.url}/rest/v1 answered: ${error.message}` };
    return { rows: data ?? [], error: null };
  } catch (err) {
    return { rows: [], error: `No Data API answers at ${settings.supabase.url}/rest/v1 (${(err as Error).message}).` };
  }
}
