/**
 * Local development only: the developer's buttons (refresh the access token now, reload
 * the lists now), kept apart from what a user sees, and the theft demo. The demo plays an
 * attacker who copied this device's refresh token a while ago: meanwhile the device rotated
 * twice (the copy is now older than the one-rotation grace), then the attacker presents the
 * copy. The server must revoke the session; this device is signed out on its next request.
 * The log belongs to the page, so it stays on screen after that sign-out until dismissed.
 */
import type { StorageAdapter } from "@sessionguard/client";
import { useSessionClient } from "@sessionguard/react";
import type { Busy } from "./busy.ts";

/** Where the SDK keeps the session (its default storage key). */
const STORAGE_KEY = "sessionguard.session";

export interface DevToolsProps {
  storage: StorageAdapter;
  sessionUrl: string;
  signedIn: boolean;
  /** The demo's log, kept by the page. */
  log: string;
  onLog(log: string): void;
  /** The server answered `refresh_token_reused`. */
  onTheft(): void;
  onRefreshed(): void;
  /** Reloads both lists; with `done`, says it in the status region. */
  reloadLists(done?: string): Promise<void>;
  busy: Busy;
}

export function DevTools(
  { storage, sessionUrl, signedIn, log, onLog, onTheft, onRefreshed, reloadLists, busy }: DevToolsProps,
) {
  const client = useSessionClient();

  const replay = async () => {
    const stored = JSON.parse((await storage.get(STORAGE_KEY)) ?? "null") as { refresh_token?: string } | null;
    if (!stored?.refresh_token) throw new Error("no session on this device");
    const stolen = stored.refresh_token;
    let out = "Copied the current refresh token. Rotating twice…\n";
    onLog(out);
    await client.refresh();
    await client.refresh();
    out += "Presenting the copied (spent) token to /refresh…\n";
    onLog(out);
    const res = await fetch(`${sessionUrl}/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
    out += `Server answered ${res.status} ${body.error ?? ""}: ${body.error_description ?? ""}\n`;
    if (body.error === "refresh_token_reused") {
      onTheft();
      out += "This device then made its next request, and the server refused it: the session is over.\n";
    }
    onLog(out);
    await reloadLists();
  };

  const button = (id: string, label: string, action: () => Promise<void>) => (
    <button
      id={id}
      type="button"
      className="secondary"
      disabled={!signedIn || busy.is(id)}
      aria-busy={busy.is(id) || undefined}
      onClick={() => void busy.run(id, action)}
    >
      {label}
    </button>
  );

  return (
    <section id="dev-tools" aria-labelledby="dev-heading" className="dev">
      <h2 id="dev-heading">Local development tools</h2>
      <p>For developers trying sessionguard; not part of a page you ship.</p>
      <div className="actions">
        {button("refresh", "Refresh the access token now", async () => {
          await client.refresh();
          onRefreshed();
        })}
        {button("reload", "Reload the lists now", () => reloadLists("Lists reloaded."))}
      </div>
      <h3 id="replay-heading">Try theft detection</h3>
      <p>
        Plays an attacker who copied this device's refresh token earlier: the page rotates the token twice, then
        presents the copied (spent) one to <code>/refresh</code>. The server treats it as theft and ends this session.
      </p>
      <button
        id="replay"
        type="button"
        disabled={!signedIn || busy.is("replay")}
        aria-busy={busy.is("replay") || undefined}
        onClick={() => void busy.run("replay", replay)}
      >
        Replay an old refresh token
      </button>
      <pre id="replay-result" aria-live="polite">{log}</pre>
    </section>
  );
}
