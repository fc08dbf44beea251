/**
 * The app that gets killed: `tsx refresh-child.ts <session url> <dir>` refreshes the
 * session stored in <dir>, and once the server has answered (it has rotated) prints
 * "answered" and never hands the answer to the SDK, so nothing is stored before the
 * parent kills the process.
 */
import { fileSessionClient } from "./file-session.ts";

const [url, dir] = process.argv.slice(2);
const client = fileSessionClient(url, dir, async (input, init) => {
  const response = await fetch(input, init);
  if (String(input).endsWith("/refresh")) {
    process.stdout.write(`answered ${response.status}\n`);
    await new Promise(() => {}); // killed here
  }
  return response;
});
await client.refresh();
process.stdout.write("stored\n");
