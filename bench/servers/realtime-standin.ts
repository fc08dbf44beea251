/**
 * A stand-in of Supabase Realtime for private broadcast channels (Deno), used by
 * bench/servers/realtime-close.ts and, run on its own, by
 * tests/integration/platform/revocation-channel.test.ts.
 *
 * It speaks Realtime's client protocol (Phoenix channels, serializer 2.0.0 JSON frames
 * `[join_ref, ref, topic, event, payload]`, as @supabase/realtime-js lib/serializer.js
 * decodes them) and copies Realtime's rules from its source (supabase/realtime, read at
 * commit 005aceb0d57283162e0e25d04d6155ebe8201096):
 *  - join (lib/realtime_web/channels/realtime_channel.ex, join/3 and confirm_token): the
 *    JWT's signature and `exp`, `role` and `exp` required; for a private channel the read
 *    policies, run as lib/realtime/tenants/authorization.ex runs them (insert a broadcast
 *    and a presence row, set role, realtime.topic, request.jwt.claims, request.headers,
 *    select the two rows, roll back); refused unless broadcast or presence may be read;
 *  - broadcast delivery: rows inserted into realtime.messages (realtime.send) reach the
 *    channels joined on that topic with the same `private`, without a policy check per
 *    message (the fastlane); Realtime reads them by logical replication, this stand-in by a
 *    NOTIFY from a trigger it adds;
 *  - phx_leave answered `ok`, heartbeats on topic `phoenix` answered `ok`.
 *
 * Run on its own (DATABASE_URL; REALTIME_JWKS_URL, the keys Realtime trusts, as a project
 * with third-party auth fetches them) it prints `{"origin": ...}` and serves until its
 * standard input closes; `GET /standin/joined` then lists the topics joined, so a test can
 * see that a client really left.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import postgres from "postgres";

type Sql = ReturnType<typeof postgres>;
/** What jose's jwtVerify takes as key: a public key or a key set. */
type VerifyKey = Parameters<typeof jwtVerify>[1];

export interface RealtimeStandin {
  /** http://127.0.0.1:<port>: a supabase-js client's project URL. */
  readonly origin: string;
  shutdown(): Promise<void>;
}

interface Joined {
  readonly socket: WebSocket;
  readonly topic: string;
  readonly subTopic: string;
  readonly private: boolean;
}

const send = (socket: WebSocket, frame: unknown[]) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
};

class Rollback extends Error {}

/** Realtime's read check for a private topic (authorization.ex), rolled back. */
async function canRead(sql: Sql, claims: JWTPayload, subTopic: string): Promise<boolean> {
  const outcome = { read: false };
  await sql.begin(async (tx) => {
    const [b] =
      await tx`insert into realtime.messages (topic, extension) values (${subTopic}, 'broadcast') returning id`;
    const [p] =
      await tx`insert into realtime.messages (topic, extension) values (${subTopic}, 'presence') returning id`;
    await tx`select set_config('role', ${String(claims.role)}, true), set_config('realtime.topic', ${subTopic}, true),
      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('request.headers', '{}', true)`;
    const rows = await tx`select id from realtime.messages where topic = ${subTopic}
      and ((extension = 'broadcast' and id = ${b!.id}) or (extension = 'presence' and id = ${p!.id}))`;
    outcome.read = rows.length > 0;
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
  return outcome.read;
}

/**
 * Serves Realtime's websocket on 127.0.0.1 for the database `sql` (which has the
 * realtime.messages stand-in), trusting tokens signed by `key`. `onLeave` is told of each
 * channel left, as the server receives the leave.
 */
export async function startRealtimeStandin(options: {
  sql: Sql;
  key: VerifyKey;
  onLeave?: (subTopic: string) => void;
}): Promise<RealtimeStandin & { joinedTopics(): string[] }> {
  const { sql, key } = options;
  const joined = new Set<Joined>();
  await sql.unsafe(`
    create or replace function realtime.standin_notify() returns trigger language plpgsql as $f$
    begin
      perform pg_notify('realtime_standin', json_build_object('topic', new.topic, 'event', new.event,
        'payload', new.payload, 'private', new.private, 'id', new.id)::text);
      return null;
    end $f$;
    create or replace trigger messages_standin_notify after insert on realtime.messages
      for each row when (new.extension = 'broadcast' and new.event is not null)
      execute function realtime.standin_notify();`);

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/standin/joined") return Response.json([...joined].map((j) => j.subTopic));
    if (path !== "/realtime/v1/websocket") return new Response("not found", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = async (message) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(String(message.data));
      const reply = (status: string, body: Record<string, unknown> = {}) =>
        send(socket, [joinRef, ref, topic, "phx_reply", { status, response: body }]);
      if (event === "heartbeat") return reply("ok");
      if (event === "phx_leave") {
        for (const j of joined) {
          if (j.socket === socket && j.topic === topic) {
            joined.delete(j);
            options.onLeave?.(j.subTopic);
          }
        }
        reply("ok");
        return send(socket, [joinRef, ref, topic, "phx_close", {}]);
      }
      if (event !== "phx_join") return;
      const subTopic = String(topic).replace(/^realtime:/, "");
      const isPrivate = payload?.config?.private === true;
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(String(payload?.access_token), key as never, {
          algorithms: ["ES256"],
        }));
        if (typeof claims.role !== "string" || typeof claims.exp !== "number") {
          throw new Error("role and exp required");
        }
      } catch {
        return reply("error", { reason: "Invalid JWT" });
      }
      if (isPrivate && !(await canRead(sql, claims, subTopic))) {
        return reply("error", {
          reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
        });
      }
      joined.add({ socket, topic, subTopic, private: isPrivate });
      reply("ok", { postgres_changes: [] });
    };
    socket.onclose = () => {
      for (const j of joined) if (j.socket === socket) joined.delete(j);
    };
    return response;
  });

  // Delivery of realtime.messages rows to the channels joined on their topic.
  const listening = await sql.listen("realtime_standin", (text) => {
    const row = JSON.parse(text) as { topic: string; event: string; payload: unknown; private: boolean; id: string };
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

  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    joinedTopics: () => [...joined].map((j) => j.subTopic),
    async shutdown() {
      await listening.unlisten();
      await server.shutdown();
    },
  };
}

if (import.meta.main) {
  const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 4, onnotice: () => {} });
  const standin = await startRealtimeStandin({
    sql,
    key: createRemoteJWKSet(new URL(Deno.env.get("REALTIME_JWKS_URL")!)),
  });
  console.log(JSON.stringify({ origin: standin.origin }));
  // Serves until the parent closes our standard input.
  for await (const _ of Deno.stdin.readable) { /* nothing is read */ }
  await standin.shutdown();
  await sql.end();
}
