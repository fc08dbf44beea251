/**
 * The local Data API stand-in (dev/data-api/) under `npm start`, driven by supabase-js
 * itself: a signed-in user reads and writes the notes example table and calls a
 * function, RLS and the stack's own access tokens decide, and a revoked session's next
 * query sees nothing. The real start script, embedded Postgres and the Deno gateway.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_PUBLISHABLE_KEY } from "../../../dev/data-api/handler.ts";
import { createSessionClient, memoryStorage } from "../../../packages/client/src/index.ts";
import { call } from "../../support/api.ts";
import { killLeftovers, launch, type Launched, removeStackData } from "../../support/npm-start.ts";

/** Node 20 has no WebSocket; Realtime is not used here, it only needs a constructor. */
class NoWebSocket {
  constructor() {
    throw new Error("Realtime is not used in this test");
  }
}

let stack: Launched;
let db: postgres.Sql;

interface Signed {
  access_token: string;
  session: { id: string };
  user_id: string;
}

async function signIn(user: string): Promise<Signed> {
  const token = (await call(stack.origin, `/dev/clerk-token?user=${user}`)).body.token as string;
  const answer = await call(`${stack.origin}/functions/v1/session`, "/start", {
    method: "POST",
    token,
    json: {},
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as unknown as Signed;
}

function clientFor(accessToken: () => Promise<string | null>): SupabaseClient {
  return createClient(stack.origin, LOCAL_PUBLISHABLE_KEY, {
    accessToken,
    realtime: { transport: NoWebSocket as never },
  });
}

const unique = () => Math.random().toString(36).slice(2, 10);

beforeAll(async () => {
  stack = await launch();
  await stack.ready;
  expect(stack.output()).toContain("created public.notes");
  const port = /127\.0\.0\.1:(\d+)\/postgres/.exec(stack.output())?.[1];
  db = postgres(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
  // A function of the user's own, to call through rpc: what PostgREST sets, seen from SQL.
  await db.unsafe(`
    create function public.dataapi_test_whoami(p_label text, p_times int default 1)
    returns json language sql stable as $$
      select json_build_object(
        'role', current_user,
        'sub', auth.jwt() ->> 'sub',
        'method', current_setting('request.method'),
        'path', current_setting('request.path'),
        'apikey', current_setting('request.headers')::json ->> 'apikey',
        'label', repeat(p_label, p_times),
        'visible_notes', (select count(*) from public.notes))
    $$;
    create function public.dataapi_test_touch() returns void language sql as $$ select 1 $$;
    create function public.dataapi_test_role() returns text language sql stable as $$ select current_user::text $$;
    notify pgrst, 'reload schema';`);
});

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  killLeftovers();
  if (stack) await removeStackData(stack.name);
});

describe("supabase-js against npm start's /rest/v1", () => {
  it("inserts, selects, updates and deletes the signed-in user's notes, and only theirs", async () => {
    const alice = await signIn(`alice${unique()}`);
    const bob = await signIn(`bob${unique()}`);
    const asAlice = clientFor(async () => alice.access_token);
    const asBob = clientFor(async () => bob.access_token);

    const inserted = await asAlice.from("notes").insert({ body: "first" }).select("id, body, owner_id")
      .single();
    expect(inserted.error).toBeNull();
    expect(inserted.status).toBe(201);
    expect(inserted.data).toMatchObject({ body: "first", owner_id: alice.user_id });
    const id = (inserted.data as { id: number }).id;
    expect((await asAlice.from("notes").insert([{ body: "second" }, { body: "third" }])).status).toBe(201);

    const listed = await asAlice.from("notes").select("id, body").order("id", { ascending: false }).limit(2);
    expect(listed.error).toBeNull();
    expect(listed.data!.map((note) => note.body)).toEqual(["third", "second"]);
    const filtered = await asAlice.from("notes").select("body").in("body", ["first", "third"]).neq(
      "body",
      "third",
    );
    expect(filtered.data).toEqual([{ body: "first" }]);
    const counted = await asAlice.from("notes").select("*", { count: "exact" }).gt("id", 0).lt("id", 1e9);
    expect(counted.count).toBe(3);
    expect((await asAlice.from("notes").select("id").is("body", null)).data).toEqual([]);

    // Bob sees none of it, and cannot change or delete it.
    expect((await asBob.from("notes").select("id")).data).toEqual([]);
    const bobUpdate = await asBob.from("notes").update({ body: "bob was here" }).eq("id", id).select();
    expect(bobUpdate.data).toEqual([]);
    await asBob.from("notes").delete().eq("id", id);

    const updated = await asAlice.from("notes").update({ body: "edited" }).eq("id", id).select("body");
    expect(updated.data).toEqual([{ body: "edited" }]);
    expect((await asAlice.from("notes").delete().eq("id", id)).status).toBe(204);
    expect((await asAlice.from("notes").select("body").order("id")).data).toEqual([
      { body: "second" },
      { body: "third" },
    ]);
  });

  it("the Node flow of docs/local-stack.md: SDK session from a development-issuer token, then supabase-js", async () => {
    const { token } =
      (await (await fetch(`${stack.origin}/dev/clerk-token?user=node${unique()}`)).json()) as {
        token: string;
      };
    const sessions = createSessionClient({
      url: `${stack.origin}/functions/v1/session`,
      storage: memoryStorage(),
    });
    await sessions.start(token, { deviceName: "script" });
    const supabase = clientFor(() => sessions.getAccessToken());
    expect((await supabase.from("notes").insert({ body: "from node" }).select("body")).data).toEqual([
      { body: "from node" },
    ]);
    expect((await supabase.from("notes").select("body")).data).toEqual([{ body: "from node" }]);
    await sessions.signOut();
  });

  it("calls a function with rpc as the token's role, with PostgREST's request settings", async () => {
    const carol = await signIn(`carol${unique()}`);
    const asCarol = clientFor(async () => carol.access_token);
    await asCarol.from("notes").insert({ body: "one" });
    const { data, error } = await asCarol.rpc("dataapi_test_whoami", { p_label: "ab", p_times: 2 });
    expect(error).toBeNull();
    expect(data).toEqual({
      role: "authenticated",
      sub: carol.user_id,
      method: "POST",
      path: "/rpc/dataapi_test_whoami",
      apikey: LOCAL_PUBLISHABLE_KEY,
      label: "abab",
      visible_notes: 1,
    });
    const touched = await asCarol.rpc("dataapi_test_touch");
    expect(touched.status).toBe(204);
    const missing = await asCarol.rpc("no_such_function", { x: 1 });
    expect(missing.status).toBe(404);
    expect(missing.error?.code).toBe("PGRST202");
  });

  it("runs anonymous requests (the publishable key, no token) as anon, which the notes grants refuse", async () => {
    const anonymous = clientFor(async () => null);
    const { data, error, status } = await anonymous.rpc("dataapi_test_role");
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toBe("anon");
    // The same function reading notes, which are revoked from anon: 401 without a token.
    expect((await anonymous.rpc("dataapi_test_whoami", { p_label: "x" })).status).toBe(401);
    const notes = await anonymous.from("notes").select("id");
    expect(notes.status).toBe(401); // 42501 without a token (errors.rst)
    expect(notes.error?.code).toBe("42501");
  });

  it("a revoked session's next query sees nothing, before its access token expires", async () => {
    const dave = await signIn(`dave${unique()}`);
    const asDave = clientFor(async () => dave.access_token);
    await asDave.from("notes").insert({ body: "before revocation" });
    expect((await asDave.from("notes").select("body")).data).toEqual([{ body: "before revocation" }]);
    const signout = await call(`${stack.origin}/functions/v1/session`, "/signout", {
      method: "POST",
      token: dave.access_token,
      json: {},
    });
    expect(signout.status).toBe(204);
    const after = await asDave.from("notes").select("body");
    expect(after.error).toBeNull();
    expect(after.data).toEqual([]);
    expect((await asDave.from("notes").insert({ body: "after" })).error?.code).toBe("42501");
  });

  it("with the pre-request hook on, a revoked session is refused with the hook's 401", async () => {
    await db`alter role authenticator set pgrst.db_pre_request = 'sessionguard.check_request'`;
    await db`notify pgrst, 'reload config'`;
    try {
      const erin = await signIn(`erin${unique()}`);
      const asErin = clientFor(async () => erin.access_token);
      await eventually(async () => (await asErin.from("notes").select("id")).status === 200);
      await call(`${stack.origin}/functions/v1/session`, "/signout", {
        method: "POST",
        token: erin.access_token,
        json: {},
      });
      // The listener may take a moment after the notify; the first refused answer counts.
      await eventually(async () => (await asErin.from("notes").select("id")).status === 401);
      const refused = await asErin.from("notes").select("id");
      expect(refused.error?.code).toBe("session_revoked");
    } finally {
      await db`alter role authenticator reset pgrst.db_pre_request`;
      await db`notify pgrst, 'reload config'`;
    }
  });
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("condition never held");
}
