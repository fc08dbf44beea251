/**
 * One line describing a thrown value, for logs and internal `detail`s only
 * (never for clients): the error's name, jose's `code` when it has one (e.g.
 * `ERR_JWT_EXPIRED`), and its message.
 */

/**
 * `Name: [code: ]message` for an Error, `String(value)` for anything else, with
 * the credentials of any URL in it replaced ({@link withoutCredentials}).
 */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return withoutCredentials(String(error));
  const code = "code" in error && error.code !== undefined ? `${String(error.code)}: ` : "";
  return withoutCredentials(`${error.name}: ${code}${error.message}`);
}

/**
 * `text` with the user info of every `scheme://user:password@` replaced by `***`.
 * Greedy up to the last `@` before white space or a quote, so a password holding
 * `@`, `/` or `:` (what makes a URL malformed in the first place) goes too.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s'"`]*@/gi, "$1***@");
}
