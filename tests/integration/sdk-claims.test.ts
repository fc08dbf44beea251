/**
 * `client.updateClaims` (packages/client/src/claims.ts) against the real server: a fresh
 * Clerk token of the same Clerk session switches the organization, the stored access
 * token carries it and the refresh token stays; a refused token (another Clerk session,
 * a stale one) rejects with invalid_token and leaves the client signed in as it was;
 * concurrent refreshes and an update in one client never cross (one lock).
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionClient, memoryStorage, type SessionClient } from "../../packages/client/src/index.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { type Stack, startStack } from "../support/stack.ts";

let stack: Stack;
const clients: SessionClient[] = [];

beforeAll(async () => {
  stack = await startStack({ SESSION_REUSE_GRACE: "0" });
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await stack?.stop();
});

async function signedIn(): Promise<{ client: SessionClient; storage: ReturnType<typeof memoryStorage>; user: string; sid: string }> {
  const [user, sid] = [clerkId("user"), clerkId("sess")];
  const storage = memoryStorage();
  const client = createSessionClient({ url: stack.server.url, storage, autoRefresh: false });
  clients.push(client);
  await client.start(await stack.clerk.token({ sub: user, sid, o: { id: "org_one", rol: "admin" } }, { shift: -5 }));
  return { client, storage, user, sid };
}

const stored = async (storage: ReturnType<typeof memoryStorage>) =>
  JSON.parse((await storage.get("sessionguard.session"))!) as { access_token: string; refresh_token: string };

describe("client.updateClaims", () => {
  it("switches the organization and keeps the refresh token", async () => {
    const { client, storage, user, sid } = await signedIn();
    const before = await stored(storage);
    const result = await client.updateClaims(await stack.clerk.token({ sub: user, sid, o: { id: "org_two", rol: "member" } }));
    expect(result.organization).toMatchObject({ id: "org_two", role: "org:member" });
    const after = await stored(storage);
    expect(after.refresh_token).toBe(before.refresh_token);
    expect(decodeJwt((await client.getAccessToken())!)).toMatchObject({ org_id: "org_two", org_role: "org:member" });
  });

  it("a refused token rejects with invalid_token and leaves the session as it was", async () => {
    const { client, storage, user } = await signedIn();
    const before = await stored(storage);
    const other = await stack.clerk.token({ sub: user, sid: clerkId("sess"), o: { id: "org_evil", rol: "admin" } });
    await expect(client.updateClaims(other)).rejects.toMatchObject({ code: "invalid_token" });
    expect(await stored(storage)).toEqual(before);
    expect(await client.getSession()).not.toBeNull();
    expect(decodeJwt((await client.getAccessToken())!).org_id).toBe("org_one");
  });

  it("racing refreshes and an update in one client: one lock, no reuse, the new organization stays", async () => {
    const { client, user, sid } = await signedIn();
    const token = await stack.clerk.token({ sub: user, sid, o: { id: "org_three", rol: "admin" } });
    const results = await Promise.allSettled([client.refresh(), client.updateClaims(token), client.refresh()]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    // With no grace, a crossed refresh would have been reuse and ended the session.
    expect(await client.getSession()).not.toBeNull();
    await client.refresh();
    expect(decodeJwt((await client.getAccessToken())!).org_id).toBe("org_three");
  });
});
