/**
 * Where the check reads secrets from: a file, or standard input (`-`), never the
 * command line. `npm run` prints the command it runs, arguments and all, and any user
 * of the machine can read a process's arguments (`ps`); a Clerk token or a database
 * password given there would end up in the terminal, the shell history and CI logs.
 */
import { readFile } from "node:fs/promises";

/** Options that used to take a secret on the command line, and what replaces each. */
export const REFUSED_ON_ARGV: Readonly<Record<string, string>> = {
  "clerk-token": "--clerk-token-file <file> (or - for standard input), or CLERK_TOKEN in the environment",
  "db-url": "--db-url-file <file> (or - for standard input)",
};

/**
 * Reads one secret from `source`: a path, or `-` for standard input (read once: at most
 * one option may name it). Surrounding white space is dropped; an empty secret is an
 * error that names `option`, never the value.
 */
export async function readSecret(
  option: string,
  source: string,
  stdin: () => Promise<string>,
): Promise<string> {
  let text: string;
  try {
    text = source === "-" ? await stdin() : await readFile(source, "utf8");
  } catch (error) {
    throw new Error(
      `--${option}: cannot read ${source === "-" ? "standard input" : source} (${
        (error as NodeJS.ErrnoException).code ?? "error"
      })`,
    );
  }
  const value = text.trim();
  if (value === "") throw new Error(`--${option}: ${source === "-" ? "standard input" : source} is empty`);
  return value;
}

/** All of standard input as text, once. */
export function standardInput(): () => Promise<string> {
  let read: Promise<string> | undefined;
  return () =>
    read ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    })();
}
