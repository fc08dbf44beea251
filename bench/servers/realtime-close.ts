/**
 * Revoke to closed subscription, end to end, against the stand-in of Supabase Realtime in
 * realtime-standin.ts, which cites the rules it copies (run by scripts/realtime-close.ts,
 * which prepares the database; Deno).
 *
 * The client is the shipped code: @supabase/supabase-js as an app uses it with
 * third-party tokens (`accessToken: () => sessions.getAccessToken()`) and the SDK's
 * `listenForRevocation(sessions, supabase)`, which joins the user's sessionguard topic
 * (private); the app joins one channel of its own. The SDK client holds a session started
 * in SQL, with an access token signed here (no session function runs; nothing is
 * refreshed). Measured from sending the revocation (SQL sessionguard.revoke_session, as
 * DELETE /sessions/<id> does) to: the SDK signing out (`signedOut`, after it heard
 * `session_revoked` for its session and began removing the channels); every channel left
 * (the server received each leave); `removeAllChannels()` resolved (the socket closed).
 */
import { createClient } from "@supabase/supabase-js";
import { generateKeyPair, SignJWT } from "jose";
import postgres from "postgres";
import { createSessionClient, listenForRevocation, memoryStorage } from "../../packages/client/src/index.ts";
import { startRealtimeStandin } from "./realtime-standin.ts";

const SAMPLES = Number(Deno.env.get("SAMPLES") ?? "50");
const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 4, onnotice: () => {} });
const { privateKey, publicKey } = await generateKeyPair("ES256");

let onLeave: (subTopic: string) => void = () => {};
const standin = await startRealtimeStandin({ sql, key: publicKey, onLeave: (t) => onLeave(t) });

const heard: number[] = [];
const left: number[] = [];
const closed: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const sampled = await sample(i);
  heard.push(sampled.heard);
  left.push(sampled.left);
  closed.push(sampled.closed);
}
await standin.shutdown();
await sql.end();
console.log(JSON.stringify({ heard, left, closed }));

/** One session: subscribe, revoke; ms until the SDK signed out, every channel left, the socket closed. */
async function sample(i: number): Promise<{ heard: number; left: number; closed: number }> {
  const user = `user_rt_close_${i}_${crypto.randomUUID().slice(0, 8)}`;
  const [s] = await sql`
    select session_id from sessionguard.start_session(${user}, ${
    "sess_" + user
  }, 'bench', null, null, 3600, 86400)`;
  const sid = s!.session_id as string;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: user, sid, role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT" }).setIssuedAt(now).setExpirationTime(now + 600).sign(
      privateKey,
    );
  // The session as the SDK stores it after /start (stored-session.ts, format 1).
  const storage = memoryStorage();
  await storage.set(
    "sessionguard.session",
    JSON.stringify({
      v: 1,
      access_token: token,
      expires_at: now + 600,
      expires_in: 600,
      refresh_token: "never-presented",
      session_id: sid,
      session_expires_at: now + 86400,
      user_id: user,
      received_at: Date.now(),
    }),
  );
  const sessions = createSessionClient({ url: "http://127.0.0.1:9/unused", storage, autoRefresh: false, dpop: false });
  const supabase = createClient(standin.origin, "anon-key-standin", {
    accessToken: () => sessions.getAccessToken(),
  });
  // Instrumentation only: when the SDK's removeAllChannels() resolves.
  let closedAt = NaN;
  const removeAll = supabase.removeAllChannels.bind(supabase);
  supabase.removeAllChannels = () => {
    const removal = removeAll();
    void removal.then(() => (closedAt = Number.isNaN(closedAt) ? performance.now() : closedAt));
    return removal;
  };
  const sdkTopic = `sessionguard:${user}`;
  const appTopic = `user:${user}`;
  const stopListening = listenForRevocation(sessions, supabase, {
    onError: (error) => console.error(`sample ${i}: ${error.message}`),
  });
  let signedOutAt = NaN;
  let why = "";
  const signedOut = new Promise<void>((resolve) =>
    sessions.on("signedOut", ({ reason }) => {
      signedOutAt = performance.now();
      why = reason;
      resolve();
    })
  );
  const leaves = new Set([sdkTopic, appTopic]);
  let leftAt = NaN;
  onLeave = (subTopic) => {
    leaves.delete(subTopic);
    if (leaves.size === 0) leftAt = performance.now();
  };
  await until(() => standin.joinedTopics().includes(sdkTopic));
  await new Promise<void>((resolve, reject) => {
    supabase.channel(appTopic, { config: { private: true } }).subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else if (status !== "CLOSED") reject(new Error(`${appTopic}: ${status} ${error?.message ?? ""}`));
    });
  });
  const sent = performance.now();
  await sql`select sessionguard.revoke_session(${user}, ${sid}::uuid)`;
  await Promise.race([signedOut, new Promise((r) => setTimeout(r, 10_000))]);
  await until(() => !Number.isNaN(closedAt));
  stopListening();
  sessions.close();
  if (supabase.getChannels().length !== 0) throw new Error("channels still open after the revocation");
  if (why !== "session_revoked") throw new Error(`signed out for ${why || "nothing"}`);
  return { heard: signedOutAt - sent, left: leftAt - sent, closed: closedAt - sent };
}

/** Resolves once `done()` holds, checked every millisecond, or after 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const end = performance.now() + 10_000; !done() && performance.now() < end;) {
    await new Promise((r) => setTimeout(r, 1));
  }
}
