/**
 * Local development only: plays an attacker who copied this device's refresh token a
 * while ago. Meanwhile the device rotated twice (the copy is now older than the
 * one-rotation grace), then the attacker presents the copy. The server must revoke the
 * session; the page shows what happens, and this device is signed out on its next request.
 */
import { useState } from "react";
import type { StorageAdapter } from "@sessionguard/client";
import { useSessionClient } from "@sessionguard/react";

/** Where the SDK keeps the session (its default storage key). */
const STORAGE_KEY = "sessionguard.session";

export interface ReplayDemoProps {
  storage: StorageAdapter;
  sessionUrl: string;
  /** The server answered `refresh_token_reused`. */
  onTheft(): void;
  /** The device's next request (reloads the lists). */
  nextRequest(): Promise<void>;
  run(action: () => Promise<void>): Promise<void>;
  busy: boolean;
}

export function ReplayDemo({ storage, sessionUrl, onTheft, nextRequest, run, busy }: ReplayDemoProps) {
  const client = useSessionClient();
  const [log, setLog] = useState("");

  const replay = async () => {
    const stored = JSON.parse((await storage.get(STORAGE_KEY)) ?? "null") as { refresh_token?: string } | null;
    if (!stored?.refresh_token) throw new Error("no session on this device");
    const stolen = stored.refresh_token;
    let out = "Copied the current refresh token. Rotating twice…\n";
    setLog(out);
    await client.refresh();
    await client.refresh();
    out += "Presenting the copied (spent) token to /refresh…\n";
    setLog(out);
    const res = await fetch(`${sessionUrl}/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
    out += `Server answered ${res.status} ${body.error ?? ""}: ${body.error_description ?? ""}\n`;
    if (body.error === "refresh_token_reused") {
      onTheft();
      out += "Now this device makes its next request…\n";
    }
    setLog(out);
    await nextRequest();
  };

  return (
    <section id="dev-tools" aria-labelledby="dev-heading" className="dev">
      <h2 id="dev-heading">Local development: try theft detection</h2>
      <p>
        Plays an attacker who copied this device's refresh token earlier: the page rotates the token twice, then
        presents the copied (spent) one to <code>/refresh</code>. The server treats it as theft and revokes this
        session.
      </p>
      <button id="replay" type="button" disabled={busy} aria-busy={busy || undefined} onClick={() => void run(replay)}>
        Replay an old refresh token
      </button>
      <pre id="replay-result" aria-live="polite">{log}</pre>
    </section>
  );
}
