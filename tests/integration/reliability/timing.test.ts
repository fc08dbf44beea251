/**
 * Whose clock decides: a refresh is judged at the moment it is made, not at
 * the moment its client opened the connection. A client controls how long its
 * body takes to arrive; if the time were taken before the body is read, a
 * thief could open a request early, hold the body back, and replay a stolen
 * previous token long after the grace window closed (P2, P3).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the time of a refresh", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_REUSE_GRACE: "1" });
  });
  afterAll(() => stack?.stop());

  it("a replay held back in a slow upload does not stretch the grace window", async () => {
    const started = await stack.start();
    const spent = started.refresh_token;
    const body = JSON.stringify({ refresh_token: spent });
    const prefix = '{"refresh_token":"';

    // The thief opens a request and sends all but the token.
    const { port } = new URL(stack.server.url);
    const socket = net.connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk));
    const ended = new Promise((resolve) => socket.on("close", resolve));
    socket.write(
      "POST /functions/v1/session/refresh HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${prefix}`,
    );
    await sleep(200);

    // The owner rotates; the window of the spent token closes 1 s later.
    const rotated = await stack.refresh(spent);
    expect(rotated.status).toBe(200);
    await sleep(2_500);

    // Now the stolen token arrives: outside the window, it is reuse.
    socket.write(body.slice(prefix.length));
    await ended;
    const status = Number(answer.split(" ")[1]);
    expect(answer).not.toContain(rotated.body.refresh_token);
    expect(status).toBe(401);
    expect(answer).toContain('"error":"refresh_token_reused"');
  });
});
