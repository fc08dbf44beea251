/**
 * One line describing a thrown value, for logs and internal `detail`s only
 * (never for clients): the error's name, jose's `code` when it has one (e.g.
 * `ERR_JWT_EXPIRED`), and its message.
 */

/** `Name: [code: ]message` for an Error, `String(value)` for anything else. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = "code" in error && error.code !== undefined ? `${String(error.code)}: ` : "";
  return `${error.name}: ${code}${error.message}`;
}
