/**
 * The session function as the protocol model states it (model/server.pml `decide`, P14
 * included), transcribed for the SDK's model replay (tests/support/sdk/model-replay.ts):
 * one family, `POST /start` and `POST /refresh`, refresh tokens `fam.<generation>`, time
 * from `Date.now()` (the replay's fake clock; 1 model tick = 1 s). A request carries the
 * key when its DPoP proof's public key has the family's thumbprint; the proof's signature
 * is not checked here (the real server's proof checks have their own tests). The replay
 * checks every answer against the model's, step by step, so this copy cannot drift from
 * server.pml unnoticed.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from "jose";
import type { Result } from "../../../scripts/model/trace.ts";

export interface Judged {
  g: number;
  key: boolean;
  result: Result;
  /** Generation handed out (rotated, grace), else null. */
  answer: number | null;
  /** The family afterwards. */
  gen: number;
  revoked: boolean;
  /** The family's generation before this request. */
  before: number;
}

export class ModelServer {
  gen = 0;
  rotatedAt = 0;
  revoked = false;
  presented = false;
  /** Thumbprint of the bound key, or null (unbound). */
  jkt: string | null = null;
  readonly #grace: number;

  constructor(graceSeconds: number) {
    this.#grace = graceSeconds;
  }

  /** server.pml `decide(g, key, res, ans)`, at `now` (ms). */
  decide(g: number, key: boolean, now: number): Judged {
    const before = this.gen;
    const bound = this.jkt !== null;
    const windowOk = g + 1 === this.gen && this.#grace > 0 && now < this.rotatedAt + this.#grace * 1000;
    const graceOk = windowOk || (g + 1 === this.gen && bound && !this.presented);
    let result: Result;
    let answer: number | null = null;
    if (this.revoked) result = "revoked";
    else if (g > this.gen) result = "not_found";
    else if (bound && !key) {
      result = "dpop_mismatch";
      if (g === this.gen) this.presented = true;
    } else if (g === this.gen) {
      this.gen++;
      this.rotatedAt = now;
      this.presented = false;
      result = "rotated";
      answer = this.gen;
    } else if (g < this.gen && graceOk) {
      result = "grace";
      answer = this.gen;
    } else if (g < this.gen) {
      this.revoked = true;
      result = "reused";
    } else result = "not_found";
    return { g, key, result, answer, gen: this.gen, revoked: this.revoked, before };
  }

  /** Binds the family to the key of `proof` (a DPoP proof header value), when given. */
  async start(proof: string | null, now: number): Promise<Response> {
    this.jkt = proof ? await thumbprintOf(proof) : null;
    this.rotatedAt = now;
    return this.tokens(0, now);
  }

  /** Whether `proof` is signed by the bound key. */
  async hasKey(proof: string | null): Promise<boolean> {
    return proof !== null && this.jkt !== null && (await thumbprintOf(proof)) === this.jkt;
  }

  /** The HTTP answer for a judged request. */
  answer(j: Judged, now: number): Response {
    if (j.answer !== null) return this.tokens(j.answer, now);
    const code = {
      reused: "refresh_token_reused",
      revoked: "session_revoked",
      dpop_mismatch: "invalid_dpop_proof",
      not_found: "invalid_refresh_token",
    }[j.result as "reused" | "revoked" | "dpop_mismatch" | "not_found"];
    return Response.json({ error: code, error_description: code }, {
      status: 401,
      headers: { "www-authenticate": `Bearer error="${code}"` },
    });
  }

  tokens(generation: number, now: number): Response {
    const seconds = Math.floor(now / 1000);
    const claims = { sub: "user_model", sid: "fam", exp: seconds + 600, ...(this.jkt ? { cnf: { jkt: this.jkt } } : {}) };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    return Response.json({
      access_token: `${b64({ alg: "none" })}.${b64(claims)}.sig${generation}`,
      token_type: this.jkt ? "DPoP" : "bearer",
      expires_in: 600,
      expires_at: seconds + 600,
      refresh_token: `fam.${generation}`,
      session: { id: "fam", expires_at: seconds + 86_400 },
      user_id: "user_model",
    });
  }
}

async function thumbprintOf(proof: string): Promise<string> {
  const { jwk } = decodeProtectedHeader(proof) as { jwk: JWK };
  return await calculateJwkThumbprint(jwk, "sha256");
}
