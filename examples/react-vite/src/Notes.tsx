/**
 * The notes table, read and written with supabase-js through `useSupabaseClient()`:
 * every request carries the sessionguard access token, so the RLS policy sees the Clerk
 * user and the live session. Locally the Data API is `npm start`'s (its stand-in at
 * /rest/v1, or `supabase start`'s PostgREST); the table and its policies are in
 * ../../notes/ (see README.md). A session ended elsewhere reads no notes on its next query.
 *
 * Which notes: the active organization's, or with none the user's personal ones. The
 * policies read the organization from the session row; switching it (POST /claims) hands
 * the client a new access token that names it, which is when the list reloads.
 */
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { useSessionClient, useSupabaseClient } from "@sessionguard/react";

/** A display name for an organization id, where the app knows one. */
export type OrganizationName = (orgId: string) => string | undefined;

export function Notes({ organizationName }: { organizationName?: OrganizationName }) {
  const orgId = useTokenOrganization();
  const name = orgId ? organizationName?.(orgId) : undefined;
  return (
    <section aria-labelledby="notes-heading" className="card">
      <h2 id="notes-heading">Your notes</h2>
      {orgId !== undefined && (
        <p data-testid="notes-scope" data-org-id={orgId ?? ""}>
          {orgId === null
            ? <>Showing your personal notes (no organization active).</>
            : <>Showing the notes of organization <strong>{name ?? orgId}</strong>{name && <> ({orgId})</>}.</>}
        </p>
      )}
      {orgId !== undefined && <NotesList orgId={orgId} />}
    </section>
  );
}

/**
 * The `org_id` claim of the access token the client sends: null for none, undefined
 * until read. Read again whenever the client has new tokens (`tokensRefreshed`: a
 * refresh, or POST /claims after an organization switch, here or in another tab);
 * React skips the re-render when it did not change.
 */
function useTokenOrganization(): string | null | undefined {
  const client = useSessionClient();
  const [orgId, setOrgId] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let alive = true;
    const read = () =>
      client.getAccessToken().then(
        (token) => alive && setOrgId(token ? claimedOrganization(token) : null),
        () => {}, // signed out meanwhile: the page shows the sign-in instead
      );
    void read();
    const off = client.on("tokensRefreshed", () => void read());
    return () => {
      alive = false;
      off();
    };
  }, [client]);
  return orgId;
}

function claimedOrganization(token: string): string | null {
  try {
    const payload = token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/");
    const claims = JSON.parse(atob(payload)) as { org_id?: unknown };
    return typeof claims.org_id === "string" ? claims.org_id : null;
  } catch {
    return null;
  }
}

interface Note {
  id: number;
  body: string;
  created_at: string;
}

function NotesList({ orgId }: { orgId: string | null }) {
  const supabase = useSupabaseClient();
  const [notes, setNotes] = useState<Note[]>([]);
  const [message, setMessage] = useState("");
  // Only the latest load may fill the list: one started before a switch answers late.
  const latest = useRef(0);

  const load = useCallback(async () => {
    const mine = ++latest.current;
    const { data, error } = await supabase.from("notes").select("id, body, created_at").order("created_at", {
      ascending: false,
    });
    if (mine !== latest.current) return;
    if (error) setMessage(`Could not load your notes: ${error.message}`);
    else {
      setNotes(data as Note[]);
      setMessage(data.length === 0 ? "No notes to show." : "");
    }
  }, [supabase]);
  // Again whenever the organization the token names changes; never showing the last one's.
  useEffect(() => {
    setNotes([]);
    void load();
  }, [load, orgId]);

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const body = String(new FormData(form).get("body") ?? "").trim();
    if (!body) return;
    // No org_id: the table's default puts the note in the session's active organization.
    const { error } = await supabase.from("notes").insert({ body });
    if (error) return setMessage(`Could not save the note: ${error.message}`);
    form.reset();
    await load();
    setMessage("Note saved.");
  };

  return (
    <>
      <p role="status" aria-live="polite">{message}</p>
      <form onSubmit={add}>
        <label htmlFor="note-body">New note</label> <input id="note-body" name="body" maxLength={500} />{" "}
        <button type="submit" className="sg-button">Add</button>{" "}
        <button type="button" className="sg-button" onClick={() => void load()}>Reload notes</button>
      </form>
      <ul className="notes">{notes.map((n) => <li key={n.id}>{n.body}</li>)}</ul>
    </>
  );
}
