/**
 * Simulated users of the session function: one honest client per family
 * refreshing as fast as it can (sometimes as two to four racing tabs, sometimes
 * losing an answer and retrying the same token), and attackers who steal a
 * token and replay it, or forge tokens naming the family.
 *
 * Every answer is recorded on the family's {@link FamilyRun}, so that the
 * invariants can afterwards be checked against the database
 * (see invariants.ts).
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

/** How the clients behave. */
export interface ClientPlan {
  /** Keep refreshing while this says so (round counts from 0). */
  more(round: number): boolean;
  /** Chance that a round is a race of 2-4 concurrent refreshes with one token. */
  readonly raceShare: number;
  /** Chance that a round loses its answer (aborted) and retries the same token. */
  readonly lostShare: number;
  /**
   * How long an owner waits after a round that lost an answer before rotating
   * again, in ms. The abandoned request may still reach the database later;
   * should the owner have rotated twice by then, it presents a token two
   * generations old, which is reuse by definition (P3) and ends the session.
   * Real clients refresh minutes apart; back-to-back load must leave this room.
   */
  readonly pauseAfterLostMs: number;
  /**
   * How long a client keeps retrying the same token after a 5xx or a network
   * failure, in ms (0: no retries). Retries wait 50-250 ms.
   */
  readonly retryForMs: number;
  /** Round at which a thief steals (or a forger strikes), at most this. */
  readonly latestAttackRound: number;
  /** A pseudo-random number in [0, 1). */
  readonly random: () => number;
}

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    const answer = await traffic.send(base + "/start", {
      method: "POST",
      headers: {
        authorization: `Bearer ${await clerkToken(userId)}`,
        "x-forwarded-for": owner.ip,
        "user-agent": owner.userAgent,
      },
    });
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

/** Runs every family's owner (and thief or forger) until the plan says stop. */
export async function driveFamilies(
  traffic: Traffic,
  targets: Targets,
  families: readonly FamilyRun[],
  plan: ClientPlan,
): Promise<void> {
  await Promise.all(families.map((family) => driveFamily(traffic, targets, family, plan)));
}

async function driveFamily(traffic: Traffic, targets: Targets, family: FamilyRun, plan: ClientPlan) {
  const pick = () => targets.main[Math.floor(plan.random() * targets.main.length)];
  const attackRound = family.attack ? Math.floor(plan.random() * (plan.latestAttackRound + 1)) : -1;
  const side: Promise<void>[] = [];
  let ownerDone = false;

  /**
   * Presents `token` and records every answer, retrying failures per plan.
   * Requests that must land inside the grace window (racing tabs, a retry of
   * the same token, an in-window replay) are `urgent`.
   */
  const present = async (
    token: string,
    by: Exchange["by"],
    { url = pick(), abortAfterMs, urgent = false }: {
      url?: string;
      abortAfterMs?: number;
      urgent?: boolean;
    } = {},
  ) => {
    const deadline = Date.now() + plan.retryForMs;
    for (;;) {
      const afterAttack = family.attackAnsweredAt !== null;
      const facts = by === "owner" || by === "probe" ? family.owner : family.thief;
      const sentAt = Date.now();
      const answer = await traffic.refresh(url, token, facts, { abortAfterMs, urgent });
      family.exchanges.push({ token, answer, afterAttack, by, sentAt, elapsedMs: Date.now() - sentAt });
      const failed = answer.kind === "network" || (answer.kind === "http" && answer.status >= 500);
      if (!failed || Date.now() > deadline) return answer;
      await sleep(50 + plan.random() * 200);
      url = pick();
      urgent = true;
    }
  };

  /** One owner round; the new token, or null when the owner must stop. */
  const round = async (): Promise<string | null> => {
    const token = family.token;
    const roll = plan.random();
    let answers: Answer[];
    if (roll < plan.raceShare) {
      const tabs = 2 + Math.floor(plan.random() * 3);
      answers = await Promise.all(
        Array.from({ length: tabs }, () => present(token, "owner", { urgent: true })),
      );
    } else if (roll < plan.raceShare + plan.lostShare) {
      const lost = await present(token, "owner", { abortAfterMs: Math.floor(plan.random() * 4) });
      if (lost.kind === "aborted") family.aborted.add(token);
      answers = [await present(token, "owner", { urgent: true })];
      if (lost.kind === "aborted") await sleep(plan.pauseAfterLostMs);
    } else {
      answers = [await present(token, "owner")];
    }
    // Racing tabs share one result (as the SDK's single flight does): any success moves the client on.
    const success = answers.find((a) => a.kind === "http" && a.status === 200 && a.refreshToken);
    if (success?.kind === "http") return success.refreshToken;
    const last = answers[answers.length - 1];
    family.stopped = last.kind === "http" ? `${last.status} ${last.code}` : last.kind;
    return null;
  };

  for (let n = 0; plan.more(n); n++) {
    if (n === attackRound) {
      const stolen = family.token;
      if (family.attack === "forged") {
        side.push(forge(traffic, pick(), family, stolen));
      } else if (family.attack === "stale") {
        // The thief strikes once the owner is two rotations further: no grace can cover that.
        family.stolen = stolen;
        side.push((async () => {
          while (generationOf(family.token) < generationOf(stolen) + 2 && !ownerDone) {
            await sleep(5);
          }
          await present(stolen, "thief");
          family.attackAnsweredAt = Date.now();
        })());
      } else {
        // window / in_window: the owner rotates once, then waits for the thief's replay.
        family.stolen = stolen;
        const next = await round();
        if (next === null) break;
        family.token = next;
        family.successorOfStolen = next;
        if (family.attack === "window") {
          const { url, graceSeconds } = targets.shortGrace!;
          await sleep(graceSeconds * 1000 + 600);
          await present(stolen, "thief", { url });
        } else {
          await present(stolen, "thief", { urgent: true });
        }
        family.attackAnsweredAt = Date.now();
        continue;
      }
    }
    const next = await round();
    if (next === null) break;
    family.token = next;
  }
  ownerDone = true;
  await Promise.all(side);
}

/** Four forgeries naming the family, sent at once: wrong MAC, moved generation, unknown key, flipped bit. */
async function forge(traffic: Traffic, url: string, family: FamilyRun, token: string): Promise<void> {
  const [kid, id, generation, mac] = token.split(".");
  const flipped = mac.slice(0, 10) + (mac[10] === "A" ? "B" : "A") + mac.slice(11);
  const forgeries = [
    `${kid}.${id}.${generation}.${randomBytes(32).toString("base64url")}`,
    `${kid}.${id}.${Number(generation) + 1}.${mac}`,
    `${randomBytes(6).toString("base64url")}.${id}.${generation}.${mac}`,
    `${kid}.${id}.${generation}.${flipped}`,
  ];
  await Promise.all(forgeries.map(async (forged) => {
    const sentAt = Date.now();
    const answer = await traffic.refresh(url, forged, family.thief);
    family.exchanges.push({
      token: forged,
      answer,
      afterAttack: false,
      by: "forger",
      sentAt,
      elapsedMs: Date.now() - sentAt,
    });
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
      family.exchanges.push({
        token: family.token,
        answer,
        afterAttack: family.attackAnsweredAt !== null,
        by: "probe",
        sentAt,
        elapsedMs: Date.now() - sentAt,
      });
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
