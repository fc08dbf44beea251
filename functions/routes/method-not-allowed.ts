/**
 * 405 `method_not_allowed` with an `Allow` header, for a path of a sub-app
 * called with a method it does not answer. Registered after the path's own
 * routes, so only other methods reach it.
 */
import type { Env, Hono } from "hono";
import { ApiError } from "../errors.ts";

/** Answers every other method on `path` with 405 and `Allow: methods`. */
export function methodNotAllowed<E extends Env>(app: Hono<E>, path: string, methods: string): void {
  app.all(path, () => {
    throw new ApiError("method_not_allowed", { headers: { allow: methods } });
  });
}
