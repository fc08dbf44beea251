/**
 * Local development only: plays a thief. It copies this device's refresh token and
 * uses it elsewhere first (rotating twice, as a thief's client would), then lets this
 * device refresh with the token it holds, which is now spent. The server takes that as
 * theft and revokes the session; the SDK emits `theftDetected`, the page says so, and
 * the identity session is signed out too. Its log stays on screen after that sign-out,
 * with the rest of the story, until the page's "Dismiss" or the next sign-in.
 */
import { useEffect, useState } from "react";
import { describeError, useSession, useSessionClient } from "@sessionguard/react";
import type { StoryProps } from "./Account.tsx";
import { config } from "./config.ts";

interface Stored {
  refresh_token?: string;
}

export function TheftDemo({ dismissed }: StoryProps) {
  const client = useSessionClient();
  const { status } = useSession();
  const [log, setLog] = useState("");
  useEffect(() => {
    if (dismissed) setLog("");
  }, [dismissed]);

  const run = async () => {
    const storage = (window as unknown as { sessionguardExample: { storage: { get(k: string): Promise<string | null> } } })
      .sessionguardExample.storage;
    const stored = JSON.parse((await storage.get("sessionguard.session")) ?? "null") as Stored | null;
    if (!stored?.refresh_token) return setLog("No session on this device.");
    let text = "The thief copied this device's refresh token and uses it twice…\n";
    setLog(text);
    let token = stored.refresh_token;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${config.sessionUrl}/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      const body = (await res.json()) as { refresh_token?: string; error?: string };
      text += `Thief's refresh ${i + 1}: ${res.status}${body.error ? ` ${body.error}` : ""}\n`;
      if (!body.refresh_token) break;
      token = body.refresh_token;
    }
    text += "Now this device refreshes with the token it holds…\n";
    setLog(text);
    try {
      await client.refresh();
      setLog(`${text}The refresh succeeded (the server did not see a reuse).`);
    } catch (err) {
      setLog(`${text}This device's refresh failed: ${(err as { code?: string }).code}. ${describeError(err as { code?: string })}`);
    }
  };

  if (status !== "signed-in" && (dismissed || log === "")) return null;
  return (
    <section aria-labelledby="theft-heading" className="card card--dev">
      <h2 id="theft-heading">Local development: try theft detection</h2>
      <p>
        Plays a thief who copied this device's refresh token: the thief refreshes with it first, then this device
        refreshes with its own copy, which is now spent.
      </p>
      <button
        type="button"
        className="sg-button sg-button--danger"
        disabled={status !== "signed-in"}
        onClick={() => void run()}
      >
        Simulate a stolen refresh token
      </button>
      <pre aria-live="polite" data-testid="theft-log">{log}</pre>
    </section>
  );
}
