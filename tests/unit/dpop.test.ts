/**
 * DPoP proof verification (functions/dpop.ts) on its own, with an injected clock:
 * every check of RFC 9449 §4.3, the stateless nonce, and the settings.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { accessToken } from "../../functions/authorization.ts";
import { ConfigError, type Env } from "../../functions/config.ts";
import { parseDpopSettings as parseDpop } from "../../functions/config/dpop.ts";
import { settingReader } from "../../functions/config/read.ts";

const parseDpopSettings = (env: Env, issuer: string) => parseDpop(settingReader(env), issuer);
import {
  acceptedTargets,
  createDpopVerifier,
  type DpopVerifier,
  type DpopVerifierOptions,
} from "../../functions/dpop.ts";
import { ApiError, errorResponse } from "../../functions/errors.ts";
import { deviceKey, hmacProof, proof, unsignedProof } from "../support/dpop.ts";

const MOUNTS = ["/functions/v1/session", "/session"];
const URL_SEEN = "http://127.0.0.1:54321/functions/v1/session/refresh";
const NOW = new Date("2026-11-26T12:00:00Z");
const T = Math.floor(NOW.getTime() / 1000);

function verifier(options: Partial<DpopVerifierOptions> = {}): Promise<DpopVerifier> {
  return Promise.resolve(createDpopVerifier({
    secrets: [randomBytes(32).toString("base64url")],
    publicUrls: [],
    requireNonce: false,
    mounts: MOUNTS,
    ...options,
  }));
}

function request(proofs: string | string[] | null, url = URL_SEEN, method = "POST"): Request {
  const headers = new Headers();
  for (const p of proofs === null ? [] : [proofs].flat()) headers.append("dpop", p);
  return new Request(url, { method, headers });
}

/** The error code a verification fails with, or "ok". */
async function outcome(v: DpopVerifier, req: Request, options: { accessToken?: string; now?: Date } = {}) {
  try {
    await v.verify(req, { now: options.now ?? NOW, accessToken: options.accessToken });
    return "ok";
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

describe("DPoP proof verification", () => {
  it("accepts a well-formed ES256 proof and answers its key's RFC 7638 thumbprint and jti", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const result = await v.verify(request(await proof(key, "POST", URL_SEEN, { iat: T, jti: "abc-123" })), {
      now: NOW,
    });
    expect(result).toEqual({ jkt: key.jkt, jti: "abc-123", iat: T });
    expect(result!.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("answers null when the request carries no proof", async () => {
    expect(await (await verifier()).verify(request(null), { now: NOW })).toBeNull();
  });

  it.each(["EdDSA", "RS256", "PS256"] as const)("accepts %s proofs", async (alg) => {
    const key = await deviceKey(alg);
    const result = await (await verifier()).verify(request(await proof(key, "POST", URL_SEEN, { iat: T })), {
      now: NOW,
    });
    expect(result?.jkt).toBe(key.jkt);
  });

  it("refuses two DPoP headers", async () => {
    const key = await deviceKey();
    const one = await proof(key, "POST", URL_SEEN, { iat: T });
    const two = await proof(key, "POST", URL_SEEN, { iat: T });
    expect(await outcome(await verifier(), request([one, two]))).toBe("invalid_dpop_proof");
  });

  it("refuses garbage, truncation and a tampered payload", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const good = await proof(key, "POST", URL_SEEN, { iat: T });
    const [h, p, s] = good.split(".");
    const tampered = Buffer.from(p, "base64url").toString().replace('"POST"', '"GET"');
    for (
      const bad of [
        "x",
        "a.b",
        `${h}.${p}`,
        `${h}.${p}.`,
        `${h}.${Buffer.from(tampered).toString("base64url")}.${s}`,
      ]
    ) {
      expect(await outcome(v, request(bad)), bad).toBe("invalid_dpop_proof");
    }
  });

  it("refuses an oversized proof even when its signature is valid", async () => {
    const key = await deviceKey();
    const big = await proof(key, "POST", URL_SEEN, { iat: T, header: { pad: "x".repeat(8000) } });
    expect(big.length).toBeGreaterThan(8192);
    expect(await outcome(await verifier(), request(big))).toBe("invalid_dpop_proof");
    const fits = await proof(key, "POST", URL_SEEN, { iat: T, header: { pad: "x".repeat(5000) } });
    expect(await outcome(await verifier(), request(fits))).toBe("ok");
  });

  it("refuses alg none and HMAC proofs", async () => {
    const v = await verifier();
    const key = await deviceKey();
    expect(await outcome(v, request(unsignedProof(key, "POST", URL_SEEN)))).toBe("invalid_dpop_proof");
    expect(await outcome(v, request(await hmacProof("POST", URL_SEEN)))).toBe("invalid_dpop_proof");
    // A valid signature from the real key, with the header claiming another algorithm, is still refused.
    const relabelled = await proof(key, "POST", URL_SEEN, { iat: T, header: { alg: "ES384" } }).catch(() =>
      null
    );
    if (relabelled !== null) expect(await outcome(v, request(relabelled))).toBe("invalid_dpop_proof");
  });

  it("refuses a proof signed by a key other than the one in its header", async () => {
    const v = await verifier();
    const victim = await deviceKey();
    const attacker = await deviceKey();
    const forged = await proof(victim, "POST", URL_SEEN, { iat: T, signWith: attacker.privateKey });
    expect(await outcome(v, request(forged))).toBe("invalid_dpop_proof");
  });

  it("refuses a wrong typ, a missing jwk, a private jwk and a jwk of the wrong type", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const rsa = await deviceKey("RS256");
    const withPrivate = { ...key.publicJwk, d: randomBytes(32).toString("base64url") };
    const cases: Record<string, Record<string, unknown>> = {
      "typ JWT": { typ: "JWT" },
      "no typ": { typ: undefined },
      "no jwk": { jwk: undefined },
      "private jwk": { jwk: withPrivate },
      // Members an EC import would ignore: refused by name, not by luck.
      "jwk with RSA private members": { jwk: { ...key.publicJwk, p: "AQAB", q: "AQAB" } },
      "jwk with symmetric material": { jwk: { ...key.publicJwk, k: "AQAB" } },
      "RSA jwk for ES256": { jwk: rsa.publicJwk },
      "jwk as a string": { jwk: JSON.stringify(key.publicJwk) },
      "jwk alg differs": { jwk: { ...key.publicJwk, alg: "RS256" } },
    };
    for (const [name, header] of Object.entries(cases)) {
      expect(await outcome(v, request(await proof(key, "POST", URL_SEEN, { iat: T, header }))), name)
        .toBe("invalid_dpop_proof");
    }
  });

  it("checks htm against the request method", async () => {
    const v = await verifier();
    const key = await deviceKey();
    expect(await outcome(v, request(await proof(key, "GET", URL_SEEN, { iat: T })))).toBe(
      "invalid_dpop_proof",
    );
    expect(await outcome(v, request(await proof(key, "POST", URL_SEEN, { iat: T, htm: "post" }))))
      .toBe("invalid_dpop_proof");
    expect(await outcome(v, request(await proof(key, "GET", URL_SEEN, { iat: T })), { now: NOW }))
      .toBe("invalid_dpop_proof");
    expect(await outcome(v, request(await proof(key, "GET", URL_SEEN, { iat: T }), URL_SEEN, "GET"))).toBe(
      "ok",
    );
  });

  it("checks htu against the request URL, ignoring query and fragment", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const at = (htu: string, url = URL_SEEN) =>
      proof(key, "POST", htu, { iat: T }).then((p) => outcome(v, request(p, url)));
    expect(await at(`${URL_SEEN}?a=1#frag`)).toBe("ok");
    expect(await at(URL_SEEN, `${URL_SEEN}?x=2`)).toBe("ok");
    expect(await at("http://127.0.0.1:54321/functions/v1/session/start")).toBe("invalid_dpop_proof");
    expect(await at("http://127.0.0.1:54322/functions/v1/session/refresh")).toBe("invalid_dpop_proof");
    expect(await at("http://evil.example/functions/v1/session/refresh")).toBe("invalid_dpop_proof");
    expect(await at("ftp://127.0.0.1:54321/functions/v1/session/refresh")).toBe("invalid_dpop_proof");
    expect(await at("/functions/v1/session/refresh")).toBe("invalid_dpop_proof");
    expect(await at("http://user:pw@127.0.0.1:54321/functions/v1/session/refresh")).toBe(
      "invalid_dpop_proof",
    );
    const missing = await proof(key, "POST", URL_SEEN, { iat: T, claims: { htu: undefined } });
    expect(await outcome(v, request(missing))).toBe("invalid_dpop_proof");
  });

  it("accepts the public URL when the runtime sees /session/… on an internal host", async () => {
    const publicBase = "https://abc.supabase.co/functions/v1/session";
    const v = await verifier({ publicUrls: [publicBase] });
    const key = await deviceKey();
    const seen = "http://abc.supabase.co/session/refresh";
    const at = (htu: string, url = seen) =>
      proof(key, "POST", htu, { iat: T }).then((p) => outcome(v, request(p, url)));
    expect(await at(`${publicBase}/refresh`)).toBe("ok");
    expect(await at("http://abc.supabase.co/session/refresh")).toBe("ok");
    expect(await at("https://abc.supabase.co/functions/v1/session/refresh")).toBe("ok");
    expect(
      await at(
        "https://abc.supabase.co/functions/v1/session/refresh",
        "http://10.0.0.7:9000/session/refresh",
      ),
    )
      .toBe("ok");
    expect(await at(`${publicBase}/start`)).toBe("invalid_dpop_proof");
    expect(await at("https://other.supabase.co/functions/v1/session/refresh")).toBe("invalid_dpop_proof");
    expect(acceptedTargets(seen, MOUNTS, [publicBase])).toEqual([
      "http://abc.supabase.co/session/refresh",
      "https://abc.supabase.co/functions/v1/session/refresh",
      "http://abc.supabase.co/functions/v1/session/refresh",
    ]);
  });

  it("accepts iat within 60 s either way, refuses stale, future and missing iat", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const at = (iat: unknown) =>
      proof(key, "POST", URL_SEEN, { claims: { iat } }).then((p) => outcome(v, request(p)));
    expect(await at(T - 60)).toBe("ok");
    expect(await at(T + 60)).toBe("ok");
    expect(await at(T + 0.5)).toBe("ok");
    expect(await at(T - 61)).toBe("invalid_dpop_proof");
    expect(await at(T + 61)).toBe("invalid_dpop_proof");
    expect(await at(T - 3600)).toBe("invalid_dpop_proof");
    expect(await at(String(T))).toBe("invalid_dpop_proof");
    expect(await at(undefined)).toBe("invalid_dpop_proof");
    expect(v.replayWindow).toBeGreaterThanOrEqual(120);
  });

  it("requires a bounded jti", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const at = (jti: unknown) =>
      proof(key, "POST", URL_SEEN, { iat: T, claims: { jti } }).then((p) => outcome(v, request(p)));
    expect(await at("x".repeat(255))).toBe("ok");
    expect(await at("x".repeat(256))).toBe("invalid_dpop_proof");
    expect(await at("")).toBe("invalid_dpop_proof");
    expect(await at(undefined)).toBe("invalid_dpop_proof");
    expect(await at(42)).toBe("invalid_dpop_proof");
    expect(await at("tab\there")).toBe("invalid_dpop_proof");
  });

  it("requires ath to be the hash of the presented access token", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const token = "eyJ.access.token";
    const at = async (options: Parameters<typeof proof>[3]) =>
      outcome(v, request(await proof(key, "GET", URL_SEEN, { iat: T, ...options }), URL_SEEN, "GET"), {
        accessToken: token,
      });
    expect(await at({ accessToken: token })).toBe("ok");
    expect(await at({})).toBe("invalid_dpop_proof");
    expect(await at({ accessToken: "eyJ.another.token" })).toBe("invalid_dpop_proof");
  });

  it("never tells the client which check failed", async () => {
    const v = await verifier();
    const key = await deviceKey();
    const error = await v.verify(request(await proof(key, "GET", URL_SEEN, { iat: T })), { now: NOW }).then(
      () => null,
      (e: ApiError) => e,
    );
    expect(error?.detail).toContain("htm");
    const response = errorResponse(error!);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      'DPoP realm="sessionguard", error="invalid_dpop_proof"',
    );
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({
      error: "invalid_dpop_proof",
      error_description: "The DPoP proof is missing or invalid.",
    });
  });
});

describe("DPoP nonces", () => {
  it("are not issued when off", async () => {
    expect(await (await verifier()).nonce(NOW)).toBeNull();
  });

  it("challenge a proof without one, then accept the nonce handed out", async () => {
    const v = await verifier({ requireNonce: true });
    const key = await deviceKey();
    const first = await v.verify(request(await proof(key, "POST", URL_SEEN, { iat: T })), { now: NOW }).then(
      () => null,
      (e: ApiError) => e,
    );
    expect(first?.code).toBe("use_dpop_nonce");
    const nonce = first!.headers["dpop-nonce"];
    expect(nonce).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/); // NQCHAR (RFC 9449 §8.1)
    expect(errorResponse(first!).headers.get("dpop-nonce")).toBe(nonce);
    const second = await v.verify(request(await proof(key, "POST", URL_SEEN, { iat: T, nonce })), {
      now: NOW,
    });
    expect(second?.jkt).toBe(key.jkt);
  });

  it("are stateless: another instance with the same secrets accepts them; a nonce goes stale", async () => {
    const secrets = [randomBytes(32).toString("base64url")];
    const a = await verifier({ requireNonce: true, secrets });
    const b = await verifier({ requireNonce: true, secrets });
    const key = await deviceKey();
    const nonce = (await a.nonce(NOW))!;
    const send = async (v: DpopVerifier, now: Date, n = nonce) =>
      outcome(
        v,
        request(await proof(key, "POST", URL_SEEN, { iat: Math.floor(now.getTime() / 1000), nonce: n })),
        {
          now,
        },
      );
    expect(await send(b, NOW)).toBe("ok");
    expect(await send(b, new Date(NOW.getTime() + 300_000))).toBe("ok");
    expect(await send(b, new Date(NOW.getTime() + 900_000))).toBe("use_dpop_nonce");
    // Another deployment's nonce, and one with a forged bucket, are not current here.
    const other = await verifier({ requireNonce: true });
    expect(await send(other, NOW)).toBe("use_dpop_nonce");
    const [bucket, mac] = nonce.split(".");
    expect(await send(b, NOW, `${(parseInt(bucket, 36) + 1).toString(36)}.${mac}`)).toBe("use_dpop_nonce");
  });

  it("survive a secret rotation: nonces of the older secret are still accepted", async () => {
    const older = randomBytes(32).toString("base64url");
    const before = await verifier({ requireNonce: true, secrets: [older] });
    const after = await verifier({
      requireNonce: true,
      secrets: [randomBytes(32).toString("base64url"), older],
    });
    const key = await deviceKey();
    const nonce = (await before.nonce(NOW))!;
    const p = await proof(key, "POST", URL_SEEN, { iat: T, nonce });
    expect(await outcome(after, request(p))).toBe("ok");
  });
});

describe("DPoP settings and the Authorization header", () => {
  const issuer = "https://abc.supabase.co/functions/v1/session";

  it("default to the issuer as public URL, no nonces, refuse only", () => {
    expect(parseDpopSettings({}, issuer)).toEqual({
      mode: "optional",
      publicUrls: [issuer],
      nonce: false,
      mismatch: "refuse",
    });
    expect(
      parseDpopSettings({
        SESSION_PUBLIC_URL:
          "https://api.example.com/functions/v1/session/, https://abc.supabase.co/functions/v1/session",
        SESSION_DPOP_NONCE: "on",
        SESSION_DPOP_MISMATCH: "revoke",
      }, issuer),
    ).toEqual({
      mode: "optional",
      publicUrls: ["https://api.example.com/functions/v1/session", issuer],
      nonce: true,
      mismatch: "revoke",
    });
  });

  it.each([
    ["SESSION_PUBLIC_URL", "not a url"],
    ["SESSION_PUBLIC_URL", "http://example.com/functions/v1/session"],
    ["SESSION_PUBLIC_URL", "https://example.com/functions/v1/session?x=1"],
    ["SESSION_DPOP_NONCE", "yes"],
    ["SESSION_DPOP_MISMATCH", "ignore"],
    ["SESSION_DPOP", "sometimes"],
  ])("refuse %s=%s naming it", (name, value) => {
    let error: unknown;
    try {
      parseDpopSettings({ [name]: value }, issuer);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(name);
  });

  it("reads Bearer and DPoP authorization schemes", () => {
    const with_ = (value: string) => new Request("http://x/", { headers: { authorization: value } });
    expect(accessToken(with_("Bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(accessToken(with_("DPoP abc.def.ghi"))).toBe("abc.def.ghi");
    expect(accessToken(with_("dpop abc"))).toBe("abc");
    for (const bad of ["Basic abc", "DPoP", "Bearer a b", ""]) {
      expect(() => accessToken(with_(bad)), bad).toThrow(ApiError);
    }
  });
});
