/**
 * supabase-js with `accessToken: () => sessions.getAccessToken()` sends the sessionguard
 * access token as `Authorization: Bearer` on Data API, Storage and Functions requests.
 * supabase-js talks real HTTP to a recording server on 127.0.0.1.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionClient, memoryStorage } from "../../../packages/client/src/index.ts";
import { FakeSessionServer } from "../../support/sdk/fake-server.ts";

const ANON_KEY = "anon-key-for-tests";
/** Node 20 has no WebSocket; Realtime is not under test, it only needs a constructor. */
class NoWebSocket {
  constructor() {
    throw new Error("Realtime is not used in this test");
  }
}
const options = (sessions: { getAccessToken(): Promise<string | null> }) => ({
  accessToken: () => sessions.getAccessToken(),
  realtime: { transport: NoWebSocket as never },
});
let server: Server;
let baseUrl: string;
const recorded: {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    recorded.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.url!.startsWith("/storage/v1/object/list/")) return res.end("[]");
      if (req.url!.startsWith("/functions/v1/")) return res.end('{"ok":true}');
      res.end("[]");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("supabase-js accessToken integration", () => {
  it("sends the current sessionguard access token on Data API, Storage and Functions requests", async () => {
    let now = 1_800_000_000_000;
    const sessionServer = new FakeSessionServer({ now: () => now });
    const sessions = createSessionClient({
      url: `${baseUrl}/functions/v1/session`,
      fetch: sessionServer.fetch,
      storage: memoryStorage(),
      now: () => now,
      autoRefresh: false,
    });
    await sessions.start("clerk:user_1");
    const supabase = createClient(baseUrl, ANON_KEY, options(sessions));

    const first = (await sessions.getAccessToken())!;
    expect(first).toMatch(/^access:fam-1:0:/);

    const data = await supabase.from("todos").select("*");
    expect(data.error).toBeNull();
    const files = await supabase.storage.from("avatars").list("user_1");
    expect(files.error).toBeNull();
    const fn = await supabase.functions.invoke("hello", { body: { hi: 1 } });
    expect(fn.error).toBeNull();

    const byApi = (prefix: string) => recorded.filter((r) => r.url.startsWith(prefix));
    for (
      const prefix of [
        "/rest/v1/todos",
        "/storage/v1/object/list/avatars",
        "/functions/v1/hello",
      ]
    ) {
      const requests = byApi(prefix);
      expect(requests, prefix).toHaveLength(1);
      expect(requests[0]!.headers.authorization, prefix).toBe(
        `Bearer ${first}`,
      );
      expect(requests[0]!.headers.apikey, prefix).toBe(ANON_KEY);
    }

    // After the access token nears expiry, supabase-js gets the rotated one.
    now += 600_000;
    recorded.length = 0;
    await supabase.from("todos").select("*");
    await supabase.storage.from("avatars").list("user_1");
    await supabase.functions.invoke("hello");
    const second = (await sessions.getAccessToken())!;
    expect(second).toMatch(/^access:fam-1:1:/);
    expect(sessionServer.refreshCalls()).toBe(1);
    expect(recorded.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${second}`,
      `Bearer ${second}`,
      `Bearer ${second}`,
    ]);
    sessions.close();
  });

  it("falls back to the anon key once signed out", async () => {
    const sessions = createSessionClient({
      url: `${baseUrl}/functions/v1/session`,
      fetch: new FakeSessionServer().fetch,
      storage: memoryStorage(),
    });
    const supabase = createClient(baseUrl, ANON_KEY, options(sessions));
    recorded.length = 0;
    await supabase.from("todos").select("*");
    expect(recorded[0]!.headers.authorization).toBe(`Bearer ${ANON_KEY}`);
    sessions.close();
  });
});
