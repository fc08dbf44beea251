/**
 * Reading settings from the environment: the one getter every parser uses, and
 * the checks of plain values (required, lists, whole numbers, one of a set).
 * Each refusal is a {@link ConfigError} naming the setting; secret values never
 * appear in its message.
 */

/** A bad or missing setting; `setting` names it. */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** The environment as a plain record (`Deno.env.toObject()`, `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads one setting of `env`: trimmed, and undefined when unset or blank. */
export type SettingReader = (name: string) => string | undefined;

/** The getter over `env` that every settings parser reads through. */
export function settingReader(env: Env): SettingReader {
  return (name) => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
}

/** `value`, or a ConfigError naming `name` when it is unset. */
export function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new ConfigError(name, "is required");
  return value;
}

/** A comma-separated list, items trimmed, empty items dropped. */
export function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** The UTF-8 length of `value`, as secrets are measured. */
export function byteLength(value: string): number {
  return new TextEncoder().encode(value).byteLength;
}

/** A whole number of seconds from `min` to `max`, or `fallback` when unset. */
export function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be a whole number of seconds from ${min} to ${max}`);
  }
  return Number(value);
}

/** One of `allowed`, or `fallback` when unset. */
export function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/** Whether `min <= value <= max`. */
export function inRange(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}

/** A database URL (`DATABASE_URL`, or Supabase's own `SUPABASE_DB_URL`). */
export function databaseUrl(get: SettingReader): string {
  const value = required("DATABASE_URL", get("DATABASE_URL") ?? get("SUPABASE_DB_URL"));
  if (!/^postgres(ql)?:\/\/./.test(value)) {
    throw new ConfigError("DATABASE_URL", "must be a postgres:// or postgresql:// URL");
  }
  // Parsed as postgres.js will parse it (postgres 3.4.9 `src/index.js`, `parseUrl`: only
  // the first of comma-separated hosts goes through `new URL`), so that the driver's own
  // "Invalid URL: '<url>'", password and all, can never reach the log.
  try {
    const authority = value.slice(value.indexOf("://") + 3).split(/[?/]/)[0];
    const host = decodeURIComponent(authority.slice(authority.indexOf("@") + 1));
    new URL(value.replace(host, host.split(",")[0]));
  } catch {
    throw new ConfigError(
      "DATABASE_URL",
      "is not a valid URL (value not shown: it holds a password); percent-encode special characters in the password",
    );
  }
  return value;
}

/** Freezes `value` and everything in it: parsed settings never change. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
