/**
 * The soak's families: what each family's clients did and saw ({@link FamilyRun}, checked
 * afterwards against the database by invariants.ts), how the families are started through
 * `/start` and probed once more after the run, and the seeded PRNG that makes a run
 * repeatable. The clients that drive them are in clients.ts.
 */
import { randomBytes } from "node:crypto";
import { type Answer, type ClientFacts, Traffic } from "./traffic.ts";

/** What happens to a family besides its owner's refreshes. */
export type AttackKind =
  /** A thief replays a token two generations old: reuse whatever the grace window. */
  | "stale"
  /** A thief replays the token just rotated, after the (short) grace window closed. */
  | "window"
  /** A thief replays the token just rotated inside the window: P3 hands out the same successor. */
  | "in_window"
  /** Someone presents tokens with the family's id and a MAC the server never made. */
  | "forged";

/** Where the clients send their requests. */
export interface Targets {
  /** Base URLs of instances with the long grace; honest clients pick one per request. */
  readonly main: readonly string[];
  /** An instance with a short grace, where "window" thieves replay once it has passed. */
  readonly shortGrace?: { readonly url: string; readonly graceSeconds: number };
}

/** Who signs users in: a Clerk-like issuer's token for a user id. */
export type ClerkTokenFor = (userId: string) => Promise<string>;

/** One presented token and what came back. */
export interface Exchange {
  readonly token: string;
  readonly answer: Answer;
  /** Sent after the family's thief had been answered. */
  readonly afterAttack: boolean;
  readonly by: "owner" | "thief" | "forger" | "probe";
  /** When it was sent (ms since the epoch) and how long the answer took. */
  readonly sentAt: number;
  readonly elapsedMs: number;
}

/** Everything one family's clients did and saw. */
export interface FamilyRun {
  readonly id: string;
  readonly userId: string;
  readonly owner: ClientFacts;
  readonly thief: ClientFacts;
  readonly attack: AttackKind | null;
  readonly startToken: string;
  /** The newest token the owner holds. */
  token: string;
  readonly exchanges: Exchange[];
  /** Tokens whose request was dropped by the owner on purpose. */
  readonly aborted: Set<string>;
  /** The token the thief took, and when its replay was answered. */
  stolen: string | null;
  attackAnsweredAt: number | null;
  /** The successor the owner got for the stolen token (in_window thieves must get the same). */
  successorOfStolen: string | null;
  /** Why the owner stopped early, if it did. */
  stopped: string | null;
}

/** Generation of a well-formed refresh token. */
export function generationOf(token: string): number {
  return Number(token.split(".")[2]);
}

/** A small seeded PRNG (mulberry32), so a run can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `count` families through `/start`, each for its own user, with the
 * given attacks assigned to the first ones.
 */
export async function startFamilies(
  traffic: Traffic,
  targets: Targets,
  clerkToken: ClerkTokenFor,
  count: number,
  attacks: Partial<Record<AttackKind, number>>,
): Promise<FamilyRun[]> {
  const kinds: (AttackKind | null)[] = [];
  for (const [kind, n] of Object.entries(attacks) as [AttackKind, number][]) {
    for (let i = 0; i < n; i++) kinds.push(kind);
  }
  if (kinds.length > count) throw new Error("more attacks than families");
  while (kinds.length < count) kinds.push(null);
  const runId = randomBytes(3).toString("hex");

  return await Promise.all(kinds.map(async (attack, index) => {
    const userId = `user_load${runId}x${index}`;
    const owner = {
      ip: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      userAgent: `Owner/${index}`,
    };
    const thief = { ip: `198.51.${(index >> 8) & 255}.${index & 255}`, userAgent: `Thief/${index}` };
    const base = targets.main[index % targets.main.length];
    const headers = { authorization: `Bearer ${await clerkToken(userId)}`, "cf-connecting-ip": owner.ip, "user-agent": owner.userAgent };
    const answer = await traffic.send(base + "/start", { method: "POST", headers });
    if (answer.kind !== "http" || answer.status !== 200 || answer.refreshToken === null) {
      throw new Error(`/start failed: ${JSON.stringify(answer)}`);
    }
    const token = answer.refreshToken;
    return {
      id: token.split(".")[1],
      userId,
      owner,
      thief,
      attack,
      startToken: token,
      token,
      exchanges: [],
      aborted: new Set<string>(),
      stolen: null,
      attackAnsweredAt: null,
      successorOfStolen: null,
      stopped: null,
    };
  }));
}

/**
 * After the run: each family's owner refreshes its newest token once more.
 * Families whose thief was caught must answer session_revoked, the others rotate.
 */
export async function probeFamilies(
  traffic: Traffic,
  targets: Targets,
  families: readonly FamilyRun[],
  retryForMs = 0,
): Promise<void> {
  await Promise.all(families.map(async (family, index) => {
    const url = targets.main[index % targets.main.length];
    const deadline = Date.now() + retryForMs;
    for (;;) {
      const sentAt = Date.now();
      const answer = await traffic.refresh(url, family.token, family.owner);
      const afterAttack = family.attackAnsweredAt !== null;
      family.exchanges.push({ token: family.token, answer, afterAttack, by: "probe", sentAt, elapsedMs: Date.now() - sentAt });
      const failed = answer.kind === "network" || (answer.kind === "http" && answer.status >= 500);
      if (failed && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      if (answer.kind === "http" && answer.status === 200 && answer.refreshToken) {
        family.token = answer.refreshToken;
      }
      return;
    }
  }));
}
