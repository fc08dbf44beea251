/**
 * Settings for the local stack: the process environment over a `.env` file at the
 * repository root, over the local defaults.
 */
import { readFile } from "node:fs/promises";
import { FUNCTION_SETTINGS } from "../../functions/config/names.ts";

/** A plain record of settings. */
export type Settings = Record<string, string>;

/**
 * Parses a `.env` file: `NAME=value` lines, `#` comments, an optional `export `,
 * values in single quotes (literal), double quotes (may span lines; `\n`, `\"` and
 * `\\` escapes) or bare (trimmed, a ` #` starts a comment).
 */
export function parseDotenv(text: string): Settings {
  const settings: Settings = {};
  const line = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*/gm;
  const source = text.replace(/\r\n?/g, "\n");
  let at = 0;
  for (;;) {
    line.lastIndex = at;
    const match = line.exec(source);
    if (match === null) break;
    const name = match[1]!;
    let rest = line.lastIndex;
    let value: string;
    const quote = source[rest];
    if (quote === '"' || quote === "'") {
      const end = closingQuote(source, rest + 1, quote);
      if (end < 0) throw new Error(`.env: ${name}: the ${quote} quote is not closed`);
      const inner = source.slice(rest + 1, end);
      value = quote === "'" ? inner : inner.replace(/\\([n"\\])/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = end + 1;
    } else {
      const end = source.indexOf("\n", rest);
      value = source.slice(rest, end < 0 ? source.length : end).replace(/[ \t]+#.*$/, "").trim();
      rest = end < 0 ? source.length : end;
    }
    settings[name] = value;
    const next = source.indexOf("\n", rest);
    if (next < 0) break;
    at = next + 1;
  }
  return settings;
}

function closingQuote(source: string, from: number, quote: string): number {
  for (let i = from; i < source.length; i++) {
    if (source[i] === "\\" && quote === '"') i++;
    else if (source[i] === quote) return i;
  }
  return -1;
}

/** Reads `path` when it exists; `{}` when it does not. */
export async function readDotenv(path: string): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  return parseDotenv(text);
}

/** `.env` values, overridden by the process environment (empty values count as unset). */
export function mergeSettings(dotenv: Settings, environment: NodeJS.ProcessEnv): Settings {
  const merged: Settings = {};
  for (const [name, value] of Object.entries(dotenv)) if (value !== "") merged[name] = value;
  for (const [name, value] of Object.entries(environment)) {
    if (value !== undefined && value !== "") merged[name] = value;
  }
  return merged;
}

/**
 * Names the stack passes on to the functions: exactly those their settings parser reads
 * (functions/config/names.ts), not a prefix rule that silently dropped the others.
 */
export function isFunctionSetting(name: string): boolean {
  return (FUNCTION_SETTINGS as readonly string[]).includes(name);
}

/** Settings the stack itself or its devices page reads, besides `SG_*`. */
const STACK_SETTINGS = ["CLERK_PUBLISHABLE_KEY"];

/** Names in `.env` that nothing reads: a typo, or a setting of another tool. */
export function unreadSettings(dotenv: Settings): string[] {
  return Object.keys(dotenv).filter((name) =>
    !isFunctionSetting(name) && !name.startsWith("SG_") && !STACK_SETTINGS.includes(name)
  ).sort();
}
