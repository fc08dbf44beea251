/**
 * Properties of request reading (functions/request.ts), P12: any body, media
 * type or header value is either read into something well-formed or refused
 * with a documented code — never another error — and everything valid reads
 * back exactly.
 */
import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../functions/errors.ts";
import { bearerToken } from "../../functions/authorization.ts";
import {
  clientIp,
  MAX_BODY_BYTES,
  MAX_USER_AGENT_LENGTH,
  normalizeIp,
  optionalString,
  readJsonBody,
  userAgent,
} from "../../functions/request.ts";

/** Runs `read` and answers its result, or the ApiError code it threw (anything else fails). */
async function outcome<T>(read: () => T | Promise<T>): Promise<{ value: T } | { code: string }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { code: error.code };
  }
}

const post = (body: Uint8Array | string, headers: Record<string, string>) =>
  new Request("http://localhost/refresh", {
    method: "POST",
    body: typeof body === "string" ? body : new Uint8Array(body) as Uint8Array<ArrayBuffer>,
    headers,
  });

/** Header values a client can send: Latin-1 without CR, LF or NUL. */
const headerValue = fc.string({
  unit: fc.integer({ min: 1, max: 255 }).filter((c) => c !== 10 && c !== 13).map((c) =>
    String.fromCharCode(c)
  ),
  maxLength: 300,
});
const jsonMediaType = fc.tuple(
  fc.constantFrom("application/json", "Application/JSON", " application/json "),
  fc.constantFrom("", "; charset=utf-8", ";charset=UTF-8", "; foo=bar"),
).map(([type, params]) => type + params);

describe("request reading: properties", () => {
  it("any bytes with any media type: an object, or invalid_request / payload_too_large / unsupported_media_type", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ minLength: MAX_BODY_BYTES - 5, maxLength: MAX_BODY_BYTES + 5 }),
          fc.string({ unit: "binary", maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
          fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "")),
        ),
        fc.oneof(jsonMediaType, headerValue),
        async (bytes, contentType) => {
          const result = await outcome(() => readJsonBody(post(bytes, { "content-type": contentType })));
          if ("code" in result) {
            expect(["invalid_request", "payload_too_large", "unsupported_media_type"]).toContain(result.code);
            if (bytes.byteLength > MAX_BODY_BYTES) expect(result.code).toBe("payload_too_large");
          } else if (result.value !== undefined) {
            expect(typeof result.value).toBe("object");
            expect(Array.isArray(result.value)).toBe(false);
            expect(bytes.byteLength).toBeLessThanOrEqual(MAX_BODY_BYTES);
          } else {
            expect(bytes.byteLength).toBe(0);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("every JSON object that fits reads back exactly", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })),
        jsonMediaType,
        async (object, type) => {
          const text = JSON.stringify(object);
          fc.pre(new TextEncoder().encode(text).byteLength <= MAX_BODY_BYTES);
          const read = await readJsonBody(post(text, { "content-type": type }));
          expect(read).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a malformed or oversize Content-Length is refused before the body is read", async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, async (length) => {
        const request = new Request("http://localhost/refresh", {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": length },
        });
        const value = length.trim();
        const result = await outcome(() => readJsonBody(request));
        if (value === "" || (/^\d+$/.test(value) && Number(value) <= MAX_BODY_BYTES)) return;
        expect(result).toEqual({ code: /^\d+$/.test(value) ? "payload_too_large" : "invalid_request" });
      }),
      { numRuns: 500 },
    );
  });

  it("optional string fields: null, the string itself, or invalid_request", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.anything(), fc.string({ unit: "binary", maxLength: 120 }), fc.string({ maxLength: 120 })),
        fc.integer({ min: 0, max: 100 }),
        async (value, max) => {
          const result = await outcome(() => optionalString({ field: value }, "field", max));
          if ("code" in result) {
            expect(result.code).toBe("invalid_request");
          } else if (result.value === null) {
            expect(value === null || value === undefined).toBe(true);
          } else {
            expect(result.value).toBe(value);
            expect(result.value.length).toBeLessThanOrEqual(max);
            // deno-lint-ignore no-control-regex
            expect(result.value).not.toMatch(/[\u0000-\u001f\u007f]/);
            // Encodable as UTF-8 without loss: no lone surrogate.
            expect(new TextDecoder().decode(new TextEncoder().encode(result.value))).toBe(result.value);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("bearer tokens: exactly the token68 after Bearer, or invalid_token", async () => {
    const token68 = fc.string({
      unit: fc.constantFrom(..."ABCxyz019-._~+/"),
      minLength: 1,
      maxLength: 200,
    }).map((t) => t + "=".repeat(t.length % 3));
    await fc.assert(
      fc.asyncProperty(fc.oneof(headerValue, token68.map((t) => `Bearer ${t}`)), async (header) => {
        const request = new Request("http://localhost/", { headers: { authorization: header } });
        const result = await outcome(() => bearerToken(request));
        if ("code" in result) {
          expect(result.code).toBe("invalid_token");
        } else {
          expect(result.value).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
          expect(header.trim().toLowerCase().startsWith("bearer ")).toBe(true);
          expect(header.trim().endsWith(result.value)).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
    await fc.assert(
      fc.asyncProperty(token68, async (token) => {
        expect(
          bearerToken(new Request("http://localhost/", { headers: { authorization: `Bearer ${token}` } })),
        )
          .toBe(token);
      }),
      { numRuns: 300 },
    );
  });

  it("client IP: null or a valid address, whatever the headers say; real addresses survive", () => {
    fc.assert(
      fc.property(headerValue, headerValue, (forwarded, cloudflare) => {
        const ip = clientIp(
          new Request("http://localhost/", {
            headers: { "x-forwarded-for": forwarded, "cf-connecting-ip": cloudflare },
          }),
          { kind: "forwarded", pick: "first" },
        );
        if (ip !== null) expect(isIP(ip)).not.toBe(0);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.array(headerValue.filter((v) => !v.includes(",")), { maxLength: 3 }),
        (ip, noise) => {
          const normalized = normalizeIp(ip);
          expect(normalized).not.toBeNull();
          expect(isIP(normalized!)).toBe(isIP(ip));
          if (isIP(ip) === 4) expect(normalized).toBe(ip);
          // Whatever invalid entries come first, the first valid address is the one taken.
          const junk = noise.filter((entry) => normalizeIp(entry.trim()) === null);
          const header = [...junk, ip, "203.0.113.1"].join(",");
          const first = { kind: "forwarded", pick: "first" } as const;
          expect(clientIp(new Request("http://localhost/", { headers: { "x-forwarded-for": header } }), first))
            .toBe(normalized);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("user agent: null or printable text of at most 512 characters", () => {
    fc.assert(
      fc.property(headerValue, (value) => {
        const agent = userAgent(new Request("http://localhost/", { headers: { "user-agent": value } }));
        if (agent === null) return;
        // deno-lint-ignore no-control-regex
        expect(agent).not.toMatch(/[\u0000-\u001f\u007f]/);
        expect(Array.from(agent).length).toBeLessThanOrEqual(MAX_USER_AGENT_LENGTH);
        expect(agent).not.toBe("");
      }),
      { numRuns: 1500 },
    );
  });
});
