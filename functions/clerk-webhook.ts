/**
 * The `clerk-webhook` function: Clerk's Svix-signed webhooks in, revocations
 * out.
 *
 * A delivery is checked before anything else happens: POST to the function's
 * own path, a JSON body of at most {@link MAX_WEBHOOK_BODY_BYTES}, and a valid
 * Svix signature over `svix-id`, `svix-timestamp` and the raw body, within the
 * library's five-minute timestamp tolerance. Only then is the event handed to
 * `sessionguard.apply_clerk_event`, which acts on a `svix-id` once:
 * `session.revoked`, `session.ended` and `session.removed` revoke every session
 * started from that Clerk session, `user.deleted` every session of the user;
 * `organizationMembership.updated` changes the role and permissions on the
 * user's live sessions in that organization, `organizationMembership.deleted`
 * and `organization.deleted` clear the organization from its sessions or end
 * them (`SESSION_ORG_REMOVED`, P15). Other types are acknowledged and ignored.
 * A refused delivery never reaches the database; the queries are in
 * store/clerk-events.ts.
 */
import { Hono } from "hono";
import { Webhook } from "standardwebhooks";
import { describe } from "./describe-error.ts";
import { answerErrors, ApiError } from "./errors.ts";
import { readBodyBytes } from "./request.ts";
import { methodNotAllowed } from "./routes/method-not-allowed.ts";
import { type ApplyClerkEvent, type ClerkEvent, ORG_EVENTS } from "./store/clerk-events.ts";

export {
  type ApplyClerkEvent,
  type ClerkEvent,
  type ClerkEventOutcome,
  createApplyClerkEvent,
} from "./store/clerk-events.ts";

/** Largest delivery accepted, in bytes; Clerk's session and user.deleted events are far smaller. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
/** Paths the function answers on: the public URL, and what Supabase's Edge Runtime passes in. */
const MOUNTS = ["/functions/v1/clerk-webhook", "/clerk-webhook"];
const SESSION_EVENTS = new Set(["session.revoked", "session.ended", "session.removed"]);
/** The limit of the ids `apply_clerk_event` stores. */
const MAX_ID_LENGTH = 255;

/** One line of the function's log. */
export interface WebhookLogEntry {
  readonly level: "info" | "error";
  readonly status: number;
  readonly code: string;
  readonly deliveryId?: string;
  readonly type?: string;
  readonly detail?: string;
}

/** What the handler needs. */
export interface ClerkWebhookDeps {
  readonly webhookSecret: string;
  readonly applyClerkEvent: ApplyClerkEvent;
  /** Where refusals (with their internal reason), outcomes and failures are reported. */
  readonly log?: (entry: WebhookLogEntry) => void;
}

/** Builds the request handler of the `clerk-webhook` function: one hono app, one route. */
export function createClerkWebhookHandler(deps: ClerkWebhookDeps): (request: Request) => Promise<Response> {
  const verifier = new Webhook(deps.webhookSecret);
  const log = deps.log ?? ((entry: WebhookLogEntry) => console.warn(JSON.stringify(entry)));

  async function receive(request: Request): Promise<Response> {
    const mediaType = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (mediaType !== "application/json") {
      throw new ApiError("unsupported_media_type", { detail: `content-type ${JSON.stringify(mediaType)}` });
    }
    const body = await readBody(request);

    const deliveryId = request.headers.get("svix-id");
    const timestamp = request.headers.get("svix-timestamp");
    const signature = request.headers.get("svix-signature");
    if (!deliveryId || !timestamp || !signature) {
      throw new ApiError("invalid_signature", {
        detail: "missing svix-id, svix-timestamp or svix-signature",
      });
    }
    try {
      // HMAC over `${svix-id}.${svix-timestamp}.${body}`, compared in constant time; the
      // timestamp must be within five minutes of now, either way.
      verifier.verify(body, {
        "webhook-id": deliveryId,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
      }, { jsonParse: false });
    } catch (error) {
      throw new ApiError("invalid_signature", { detail: describe(error) });
    }

    const event = parseEvent(deliveryId, body);
    const outcome = await deps.applyClerkEvent(event);
    log({
      level: "info",
      status: 200,
      code: outcome.result,
      deliveryId,
      type: event.type,
      detail: outcome.changed === undefined ? `revoked ${outcome.revoked}` : `changed ${outcome.changed}`,
    });
    return new Response(JSON.stringify(outcome), {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });
  }

  // Paths are compared as they arrive, trailing slashes dropped: no decoding. The root
  // stays "/" (hono's router cannot match an empty path).
  const app = new Hono({
    getPath: (request) => new URL(request.url).pathname.replace(/\/+$/, "") || "/",
  });
  for (const mount of MOUNTS) {
    app.post(mount, (c) => receive(c.req.raw));
    methodNotAllowed(app, mount, "POST");
  }
  answerErrors(
    app,
    ({ detail, ...rest }, request) =>
      log({ ...rest, deliveryId: request.header("svix-id")?.slice(0, MAX_ID_LENGTH) ?? undefined, detail }),
  );
  return async (request) => await app.fetch(request);
}

/**
 * The raw body as text: at most {@link MAX_WEBHOOK_BODY_BYTES} (413) and valid
 * UTF-8 (400), which is what Svix signs.
 */
async function readBody(request: Request): Promise<string> {
  const bytes = await readBodyBytes(request, MAX_WEBHOOK_BODY_BYTES);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError("invalid_request", { description: "The request body is not valid UTF-8." });
  }
}

/**
 * The event a verified body describes. Clerk's envelope is `{"type", "data",
 * "object": "event", ...}`; for `session.*` events `data.id` is the Clerk
 * session id and `data.user_id` its user, for `user.deleted` `data.id` is the
 * user id. Anything else about the event is not needed.
 */
function parseEvent(deliveryId: string, body: string): ClerkEvent {
  const malformed = (detail: string) => new ApiError("invalid_request", { detail });
  if (!isId(deliveryId)) throw malformed("svix-id is not a printable id of at most 255 characters");
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    throw new ApiError("invalid_request", { description: "The request body is not valid JSON." });
  }
  if (!isObject(envelope)) throw malformed("body is not a JSON object");
  const { type, data } = envelope;
  if (!isId(type)) throw malformed('"type" is not a printable string of at most 255 characters');

  if (SESSION_EVENTS.has(type)) {
    if (!isObject(data) || !isId(data.id)) throw malformed(`${type} without a session id in data.id`);
    if (data.user_id !== undefined && data.user_id !== null && !isId(data.user_id)) {
      throw malformed(`${type} with a malformed data.user_id`);
    }
    return { deliveryId, type, clerkSessionId: data.id, userId: (data.user_id as string | null) ?? null };
  }
  if (type === "user.deleted") {
    if (!isObject(data) || !isId(data.id)) throw malformed("user.deleted without a user id in data.id");
    return { deliveryId, type, clerkSessionId: null, userId: data.id };
  }
  if (ORG_EVENTS.has(type)) return parseOrgEvent(deliveryId, type, envelope, malformed);
  return { deliveryId, type, clerkSessionId: null, userId: null };
}

/**
 * An organization event. Clerk's payloads (clerk/javascript
 * `packages/backend/src/api/resources/JSON.ts`, `OrganizationMembershipJSON` and
 * `DeletedObjectJSON`; `Webhooks.ts` for the envelope): a membership event's `data` is the
 * membership, with `organization.id`, `public_user_data.user_id`, `role`
 * (`org:admin`) and `permissions` (a list); `organization.deleted`'s `data.id` is
 * the organization. The envelope's `timestamp` is milliseconds since the epoch.
 */
function parseOrgEvent(
  deliveryId: string,
  type: string,
  envelope: Record<string, unknown>,
  malformed: (detail: string) => ApiError,
): ClerkEvent {
  const { data, timestamp } = envelope;
  if (!isObject(data)) throw malformed(`${type} without data`);
  const occurredAt = typeof timestamp === "number" && Number.isSafeInteger(timestamp) && timestamp > 0
    ? new Date(timestamp)
    : null;
  if (type === "organization.deleted") {
    if (!isId(data.id)) throw malformed("organization.deleted without an organization id in data.id");
    return { deliveryId, type, clerkSessionId: null, userId: null, orgId: data.id, occurredAt };
  }
  const org = data.organization;
  const user = data.public_user_data;
  if (!isObject(org) || !isId(org.id)) throw malformed(`${type} without data.organization.id`);
  if (!isObject(user) || !isId(user.user_id)) throw malformed(`${type} without data.public_user_data.user_id`);
  const { role, permissions } = data;
  if (type === "organizationMembership.updated" && !isId(role)) throw malformed(`${type} without data.role`);
  if (permissions !== undefined && permissions !== null &&
    !(Array.isArray(permissions) && permissions.length <= 500 && permissions.every(isId))) {
    throw malformed(`${type} with malformed data.permissions`);
  }
  return {
    deliveryId,
    type,
    clerkSessionId: null,
    userId: user.user_id,
    orgId: org.id,
    orgRole: isId(role) ? role : null,
    orgPermissions: (permissions as string[] | null | undefined) ?? null,
    occurredAt,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// deno-lint-ignore no-control-regex
const CONTROL_OR_EDGE_SPACE = /[\u0000-\u001f\u007f]|^\s|\s$/;

/** A string the database stores as an id: 1 to 255 characters, no control characters or edge spaces. */
function isId(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= MAX_ID_LENGTH &&
    !CONTROL_OR_EDGE_SPACE.test(value);
}
