/**
 * The notes table, read and written with supabase-js through `useSupabaseClient()`:
 * every request carries the sessionguard access token, so the RLS policy sees the Clerk
 * user and the live session. Locally the Data API is `npm start`'s (its stand-in at
 * /rest/v1, or `supabase start`'s PostgREST); the table and its policy are in
 * ../../notes/ (see README.md). A session ended elsewhere reads no notes on its next query.
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { useSupabaseClient } from "@sessionguard/react";

export function Notes() {
  return (
    <section aria-labelledby="notes-heading" className="card">
      <h2 id="notes-heading">Your notes</h2>
      <NotesList />
    </section>
  );
}

interface Note {
  id: number;
  body: string;
  created_at: string;
}

function NotesList() {
  const supabase = useSupabaseClient();
  const [notes, setNotes] = useState<Note[]>([]);
  const [message, setMessage] = useState("");

  const load = useCallback(async () => {
    const { data, error } = await supabase.from("notes").select("id, body, created_at").order("created_at", {
      ascending: false,
    });
    if (error) setMessage(`Could not load your notes: ${error.message}`);
    else {
      setNotes(data as Note[]);
      setMessage(data.length === 0 ? "No notes to show." : "");
    }
  }, [supabase]);
  useEffect(() => void load(), [load]);

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const body = String(new FormData(form).get("body") ?? "").trim();
    if (!body) return;
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
