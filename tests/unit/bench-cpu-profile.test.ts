/**
 * bench/lib/cpu-profile.ts charges each sample of a V8 CPU profile to the part
 * of a refresh named by the innermost frame of ours or of a library, and only
 * samples inside the measured window. A synthetic profile with one stack per
 * rule, so that a wrong charge shows as a wrong count.
 */
import { describe, expect, it } from "vitest";
import { PARTS, profileShares } from "../../bench/lib/cpu-profile.ts";

const CACHE = "file:///root/.cache/deno/npm/registry.npmjs.org";
const OURS = "file:///work/repo/functions";

/** Builds a profile from stacks (root first, as [functionName, url]) and samples (stack index, µs). */
function profile(stacks: [string, string][][], samples: [number, number][]) {
  const nodes: { id: number; callFrame: { functionName: string; url: string }; children: number[] }[] = [
    { id: 1, callFrame: { functionName: "(root)", url: "" }, children: [] },
  ];
  const leaves = stacks.map((stack) => {
    let parent = nodes[0];
    for (const [functionName, url] of stack) {
      const node = { id: nodes.length + 1, callFrame: { functionName, url }, children: [] };
      parent.children.push(node.id);
      nodes.push(node);
      parent = node;
    }
    return parent.id;
  });
  let last = 0;
  return {
    nodes,
    startTime: 0,
    samples: samples.map(([stack]) => leaves[stack]),
    timeDeltas: samples.map(([, at]) => {
      const delta = at - last;
      last = at;
      return delta;
    }),
  };
}

const STACKS: [string, string][][] = [
  // 0: noble under the signer
  [["", `${OURS}/routes/token-response.ts`], ["sign", `${OURS}/signer.ts`], [
    "mod",
    `${CACHE}/@noble/curves/2.4.0/abstract/modular.js`,
  ]],
  // 1: jose's base64 under base64url.ts under the MAC: the MAC's, not the signature's
  [["mint", `${OURS}/refresh-token.ts`], ["base64url", `${OURS}/base64url.ts`], [
    "encodeBase64",
    `${CACHE}/jose/6.2.18/dist/webapi/lib/buffer_utils.js`,
  ]],
  // 2: postgres.js socket callback, nothing of ours on the stack (node_modules layout)
  [["onStreamRead", "ext:deno_node/internal/stream_base_commons.ts"], [
    "handle",
    "file:///work/repo/node_modules/postgres/src/connection.js",
  ]],
  // 3: hono's dispatch inside the handler's composition: hono's
  [["", `${OURS}/handler.ts`], ["dispatch", `${CACHE}/hono/4.13.19/dist/compose.js`]],
  // 4: hono's c.json called by the token response: the token response's
  [["", `${OURS}/routes/token-response.ts`], ["json", `${CACHE}/hono/4.13.19/dist/context.js`], [
    "Headers",
    "ext:deno_fetch/20_headers.js",
  ]],
  // 5: Deno's server alone
  [["nativeDispatch", "ext:deno_http/00_serve.ts"]],
  // 6: a runtime call made by request.ts
  [["userAgent", `${OURS}/request.ts`], ["get", "ext:deno_fetch/20_headers.js"]],
  // 7, 8, 9: idle, GC, program
  [["(idle)", ""]],
  [["(garbage collector)", ""]],
  [["(program)", ""]],
  // 10: an unknown package
  [["x", `${CACHE}/left-pad/1.0.0/index.js`]],
];

describe("bench CPU profile parts", () => {
  it("charges each stack to its part and counts only the window", () => {
    const samples: [number, number][] = [];
    // One sample per stack before the window, then stack i taken i + 1 times inside it.
    STACKS.forEach((_, i) => samples.push([i, 10 + i]));
    let at = 1_000;
    STACKS.forEach((_, i) => {
      for (let n = 0; n <= i; n++) samples.push([i, at += 10]);
    });
    samples.push([0, 1_000_000]); // after the window
    const shares = profileShares(profile(STACKS, samples), 1_000, 900_000);
    expect(shares.samples).toEqual({
      signature: 1,
      mac: 2,
      postgres: 3,
      hono: 4,
      tokenResponse: 5,
      runtime: 6,
      input: 7,
      gc: 9,
      program: 10,
      other: 11,
      dpop: 0,
      route: 0,
      handler: 0,
    });
    expect(shares.idleSamples).toBe(8);
    expect(shares.busySamples).toBe(PARTS.reduce((sum, part) => sum + shares.samples[part], 0));
  });
});
