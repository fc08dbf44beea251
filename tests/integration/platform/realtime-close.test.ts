/**
 * `npm run bench:realtime-close` works end to end: every revoked session's app hears
 * `session_revoked` on its user's private topic and leaves all its channels (the Deno side
 * fails the run when a channel is still open). How fast is printed, never asserted.
 */
import { execFile } from "node:child_process";
import { expect, it } from "vitest";

it("each revoked session's channels are closed by the announcement", async () => {
  const run = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/realtime-close.ts", "--samples", "3"], {
      timeout: 240_000,
    }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
        output: stdout + stderr,
      });
    });
  });
  expect(run.code, run.output).toBe(0);
  // Three samples in each row, none of which missed the 10 s limit.
  for (const row of ["the app hears session_revoked", "every channel left (leave acknowledged)"]) {
    expect(run.output).toMatch(
      new RegExp(`\\| ${row.replace(/[()]/g, "\\$&")} \\| 3 \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| 0 \\|`),
    );
  }
}, 300_000);
