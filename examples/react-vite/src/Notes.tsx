/**
 * The notes table, read and written with supabase-js through `useSupabaseClient()`:
 * every request carries the sessionguard access token, so the RLS policy sees the Clerk
 * user and the live session. Needs a hosted Supabase project (the local stack has no
 * Data API); the table and its policy are in ../../notes/ (see README.md).
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { useSupabaseClient } from "@sessionguard/react";
import { config } from "./config.ts";

export function Notes() {
  return (
    <section aria-labelledby="notes-heading" className="card">
      <h2 id="notes-heading">Your notes</h2>
      {config.supabase ? <NotesList /> : (
        <p>
          Notes are stored in Supabase through its Data API, which the local stack does not have. Set{" "}
          <code>VITE_SUPABASE_URL</code> and <code>VITE_SUPABASE_ANON_KEY</code> to a hosted project that has the notes
          table (see the example's README) to try them.
        </p>
      )}
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
    else setNotes(data as Note[]);
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
    setMessage("Note saved.");
    await load();
  };

  return (
    <>
      <p role="status" aria-live="polite">{message}</p>
      <form onSubmit={add}>
        <label htmlFor="note-body">New note</label> <input id="note-body" name="body" maxLength={500} />{" "}
        <button type="submit" className="sg-button">Add</button>
      </form>
      <ul>{notes.map((n) => <li key={n.id}>{n.body}</li>)}</ul>
    </>
  );
}
