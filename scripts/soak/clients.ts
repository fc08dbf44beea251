/**
 * Simulated users of the session function during a soak: one honest client per
 * family refreshing as fast as it can (sometimes as two to four racing tabs,
 * sometimes losing an answer and retrying the same token), and attackers who steal
 * a token and replay it, or forge tokens naming the family.
 *
 * Every answer is recorded on the family's FamilyRun (families.ts).
 */
import { randomBytes } from "node:crypto";
import { type Exchange, type FamilyRun, generationOf, sleep, type Targets } from "./families.ts";
import type { Answer, Traffic } from "./traffic.ts";

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
    { url = pick(), abortAfterMs, urgent = false }: { url?: string; abortAfterMs?: number; urgent?: boolean } = {},
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
      answers = await Promise.all(Array.from({ length: tabs }, () => present(token, "owner", { urgent: true })));
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
    family.exchanges.push({ token: forged, answer, afterAttack: false, by: "forger", sentAt, elapsedMs: Date.now() - sentAt });
  }));
}
