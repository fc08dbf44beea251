/**
 * Revoke to closed subscription, end to end, against a stand-in of Supabase Realtime
 * (run by scripts/realtime-close.ts, which prepares the database; Deno).
 *
 * The stand-in speaks Realtime's client protocol (Phoenix channels, serializer 2.0.0 JSON
 * frames `[join_ref, ref, topic, event, payload]`, as @supabase/realtime-js
 * lib/serializer.js decodes them) and copies Realtime's rules from its source
 * (supabase/realtime, read at commit 005aceb0d57283162e0e25d04d6155ebe8201096):
 *  - join (lib/realtime_web/channels/realtime_channel.ex, join/3 and confirm_token): the
 *    JWT's signature and `exp`, `role` and `exp` required; for a private channel the read
 *    policies, run as lib/realtime/tenants/authorization.ex runs them (insert a broadcast
 *    and a presence row, set role, realtime.topic, request.jwt.claims, request.headers,
 *    select the two rows, roll back); refused unless broadcast or presence may be read;
 *  - broadcast delivery: rows inserted into realtime.messages (realtime.send) reach the
 *    channels joined on that topic with the same `private`, without a policy check per
 *    message (the fastlane); Realtime reads them by logical replication, this stand-in by a
 *    NOTIFY from a trigger the preparing script adds;
 *  - phx_leave answered `ok`, heartbeats on topic `phoenix` answered `ok`.
 *
 * The client is @supabase/supabase-js as an app uses it with third-party tokens
 * (`accessToken` option), joined to the user's sessionguard topic and to an app channel.
 * On `session_revoked` for its own session the app removes all its channels, as
 * docs/clerk-webhook.md shows. Measured from sending the revocation (SQL
 * sessionguard.revoke_session, as DELETE /sessions/<id> does) to: the app hearing it;
 * every channel left (each leave acknowledged by the server); the socket closed.
 */
import { createClient } from "@supabase/supabase-js";
import { generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from "jose";
import postgres from "postgres";

const SAMPLES = Number(Deno.env.get("SAMPLES") ?? "50");
const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 4, onnotice: () => {} });
const { privateKey, publicKey } = await generateKeyPair("ES256");

interface Joined {
  readonly socket: WebSocket;
  readonly topic: string;
  readonly subTopic: string;
  readonly joinRef: string;
  readonly private: boolean;
}
const joined = new Set<Joined>();

const send = (socket: WebSocket, frame: unknown[]) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
};

/** Realtime's read check for a private topic (authorization.ex), rolled back. */
async function canRead(claims: JWTPayload, subTopic: string): Promise<boolean> {
  const outcome = { read: false };
  await sql.begin(async (tx) => {
    const [b] =
      await tx`insert into realtime.messages (topic, extension) values (${subTopic}, 'broadcast') returning id`;
    const [p] =
      await tx`insert into realtime.messages (topic, extension) values (${subTopic}, 'presence') returning id`;
    await tx`select set_config('role', ${
      String(claims.role)
    }, true), set_config('realtime.topic', ${subTopic}, true),
      set_config('request.jwt.claims', ${
      JSON.stringify(claims)
    }, true), set_config('request.headers', '{}', true)`;
    const rows = await tx`select id from realtime.messages where topic = ${subTopic}
      and ((extension = 'broadcast' and id = ${b!.id}) or (extension = 'presence' and id = ${p!.id}))`;
    outcome.read = rows.length > 0;
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
  return outcome.read;
}
class Rollback extends Error {}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
  if (new URL(request.url).pathname !== "/realtime/v1/websocket") {
    return new Response("not found", { status: 404 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = async (message) => {
    const [joinRef, ref, topic, event, payload] = JSON.parse(String(message.data));
    const reply = (status: string, body: Record<string, unknown> = {}) =>
      send(socket, [joinRef, ref, topic, "phx_reply", { status, response: body }]);
    if (event === "heartbeat") return reply("ok");
    if (event === "phx_leave") {
      for (const j of joined) if (j.socket === socket && j.topic === topic) joined.delete(j);
      reply("ok");
      return send(socket, [joinRef, ref, topic, "phx_close", {}]);
    }
    if (event !== "phx_join") return;
    const subTopic = String(topic).replace(/^realtime:/, "");
    const isPrivate = payload?.config?.private === true;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(String(payload?.access_token), publicKey, {
        algorithms: ["ES256"],
      }));
      if (typeof claims.role !== "string" || typeof claims.exp !== "number") {
        throw new Error("role and exp required");
      }
    } catch {
      return reply("error", { reason: "Invalid JWT" });
    }
    if (isPrivate && !(await canRead(claims, subTopic))) {
      return reply("error", {
        reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
      });
    }
    joined.add({ socket, topic, subTopic, joinRef, private: isPrivate });
    reply("ok", { postgres_changes: [] });
  };
  socket.onclose = () => {
    for (const j of joined) if (j.socket === socket) joined.delete(j);
  };
  return response;
});

// Delivery of realtime.messages rows to the channels joined on their topic.
await sql.listen("realtime_standin", (text) => {
  const row = JSON.parse(text) as {
    topic: string;
    event: string;
    payload: unknown;
    private: boolean;
    id: string;
  };
  for (const j of joined) {
    if (j.subTopic === row.topic && j.private === row.private) {
      send(j.socket, [null, null, j.topic, "broadcast", {
        type: "broadcast",
        event: row.event,
        payload: row.payload,
        meta: { id: row.id },
      }]);
    }
  }
});

const origin = `http://127.0.0.1:${server.addr.port}`;
const heard: number[] = [];
const left: number[] = [];
const closed: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const sampled = await sample(i);
  heard.push(sampled.heard);
  left.push(sampled.left);
  closed.push(sampled.closed);
}
await server.shutdown();
await sql.end();
console.log(JSON.stringify({ heard, left, closed }));

/**
 * One session: subscribe, revoke; ms until the app heard of it, and until every channel of
 * the app is closed.
 */
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
  const supabase = createClient(origin, "anon-key-standin", {
    accessToken: () => Promise.resolve(token),
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const subscribed = (name: string) =>
    new Promise<ReturnType<typeof supabase.channel>>((resolve, reject) => {
      const channel = supabase.channel(name, { config: { private: true } });
      channel.on("broadcast", { event: "*" }, (message) => onBroadcast(message));
      channel.subscribe((status, error) => {
        if (status === "SUBSCRIBED") resolve(channel);
        else if (status !== "CLOSED") reject(new Error(`${name}: ${status} ${error?.message ?? ""}`));
      });
    });
  let closed: (at: number) => void = () => {};
  const allClosed = new Promise<number>((resolve) => (closed = resolve));
  let heardAt = NaN;
  let leftAt = NaN;
  const onBroadcast = ({ event, payload }: { event: string; payload?: { session_id?: string } }) => {
    if (event !== "session_started" && payload?.session_id === sid) {
      heardAt = performance.now();
      // removeAllChannels(), in two steps so that each is timed: every channel left (the
      // server acknowledged), then the socket closed (phoenix's teardown polls for it).
      void Promise.all(supabase.getChannels().map((channel) => supabase.removeChannel(channel)))
        .then(() => (leftAt = performance.now()))
        .then(() => supabase.realtime.disconnect())
        .then(() => closed(performance.now()));
    }
  };
  // Without it the join carries no access_token and Realtime falls back to the API key.
  await supabase.realtime.setAuth();
  await subscribed(`sessionguard:${user}`);
  await subscribed(`user:${user}`);
  const sent = performance.now();
  await sql`select sessionguard.revoke_session(${user}, ${sid}::uuid)`;
  const closedAt = await Promise.race([
    allClosed,
    new Promise<number>((r) => setTimeout(() => r(NaN), 10_000)),
  ]);
  if (supabase.getChannels().length !== 0) throw new Error("channels still open after the revocation");
  return { heard: heardAt - sent, left: leftAt - sent, closed: closedAt - sent };
}
