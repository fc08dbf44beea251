/**
 * The connection and the answers every store query shares: the pool (its
 * settings say why), the mapping of SQLSTATEs to the closed set of API errors,
 * and the check that a bigint fits a JavaScript number.
 *
 * Prepared statements follow `SESSION_DB_PREPARE`: off unless the setting
 * says the connection is direct or session-mode (config/database.ts).
 */
import postgres from "postgres";
import { describe } from "../describe-error.ts";
import { ApiError } from "../errors.ts";

/** A postgres.js client. */
export type Sql = postgres.Sql<Record<string, never>>;

/**
 * Opens a pool on `url`. `prepare` (default off: transaction-pooler safe) lets
 * postgres.js keep named prepared statements per connection, which saves the
 * parse and plan of every call (config.ts `preparedStatements` decides it).
 */
export function openDatabase(url: string, options: { prepare?: boolean } = {}): Sql {
  return postgres(url, {
    prepare: options.prepare ?? false,
    // No array types are read, so skip the type lookup that would cost each new connection a round trip.
    fetch_types: false,
    max: 8,
    idle_timeout: 30,
    connect_timeout: 10,
    // postgres.js's default backoff grows with every failed connection of the pool, up
    // to 20 s: after a short outage requests would hang past the client's reuse grace
    // window. Reconnect within a second instead.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    connection: { application_name: "sessionguard" },
  }) as unknown as Sql;
}

/** A bigint the database answered, as a number; refuses one past 2^53. */
export function toInt(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`not a safe integer: ${value}`);
  return number;
}

/** SQLSTATE classes and driver codes that mean "the database is unreachable", not "bad request". */
/*
 * Also: a statement or lock timeout (57014, 55P03) and a serialization failure or
 * deadlock (40001, 40P01) rolled the whole rotation back, so the client may retry the
 * same token; EPIPE is a write to a connection the server already closed.
 */
const UNAVAILABLE =
  /^(08|53|57P0[1-3]|57014|55P03|40001|40P01)|^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|CONNECT_TIMEOUT|CONNECTION_)/;

/**
 * Runs one query, turning the database's refusals into API errors: a bad
 * argument (22023) is the client's, an ended Clerk session (28000) its token's,
 * an unreachable or overloaded database a retryable 503.
 */
export async function run<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "22023") {
      // The API functions reject bad arguments with invalid_parameter_value and write nothing.
      throw new ApiError("invalid_request", { detail: `database refused: ${describe(error)}` });
    }
    if (code === "28000") {
      // start_session refuses a Clerk session that Clerk reported ended, or a deleted user.
      throw new ApiError("invalid_token", {
        description: "The Clerk session token is missing, invalid or expired.",
        detail: `database refused: ${describe(error)}`,
      });
    }
    if (typeof code === "string" && UNAVAILABLE.test(code)) {
      throw new ApiError("server_error", {
        status: 503,
        detail: `database unavailable: ${code}`,
        cause: error,
      });
    }
    throw error;
  }
}
