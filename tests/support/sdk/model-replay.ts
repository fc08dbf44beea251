/**
 * Replays a trace of the protocol model (model/session.pml) on two real SDK clients — two
 * tabs, each with its own `Refresher`, sharing one storage, one key store and one lock
 * (tab-locks.ts). The trace's events are the schedule: a tab starts a refresh, an attempt
 * times out, the network loses a request or an answer, a tab is closed, the attacker
 * presents a copy, a tick (1 s of fake time) passes. What the tabs send is the SDK's own
 * doing: each "send" event of the model is matched with the next request the tab sent, and
 * each request the model's server judged is judged by the model's server rules
 * (model-server.ts) when the SDK's request reaches it.
 *
 * A replay reports where the SDK did not do what the model's client did (divergences), and
 * the model's `honest` property evaluated on what happened: an honest request answered
 * reuse or key mismatch is a cut, excused only as session.pml's `honest` excuses it.
 */
import { vi } from "vitest";
import { ATTACKER, describeStep, type Step, type Trace } from "../../../scripts/model/trace.ts";
import { ModelServer, type Judged } from "./model-server.ts";
import type { SdkMutant, SdkModule } from "./sdk-mutants.ts";
import { TabLocks } from "./tab-locks.ts";

const BASE = 1_800_000_000_000;
const URL_BASE = "http://model.test/functions/v1/session";

export interface ReplayOutcome {
  source: string;
  bound: boolean;
  /** Where the SDK parted from the model's client or server (empty: step for step alike). */
  divergences: string[];
  /** An honest request was answered reuse or key mismatch. */
  cut: boolean;
  /** `honest` as session.pml states it, on this run. */
  honest: boolean;
  log: string[];
}

interface Req {
  tab: number;
  g: number;
  key: boolean;
  /** Still on its way to the server. */
  onWire: boolean;
  /** The SDK still waits for the answer. */
  waiting: boolean;
  /** Matched with a "send" event of the model. */
  matched: boolean;
  resolve(res: Response): void;
  reject(err: unknown): void;
}

interface Tab {
  client: ReturnType<SdkModule["createSessionClient"]>;
  open: boolean;
  /** The refresh under way, if any. */
  flight: Promise<void> | null;
}

/** Lets the SDK run: promise jobs, WebCrypto, and timers due now (never later ones). */
async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setImmediate(r));
    vi.advanceTimersByTime(0);
  }
}

/**
 * The SDK's settings for the model's small numbers (session.pml without SHIPPED): one
 * attempt timeout and the whole retry budget are 1 tick, one retry, no delay before it.
 * The replay's driver times attempts out itself (an "expire" event), as the model does.
 */
function options(trace: Trace, tab: number, net: Network, locks: TabLocks, shared: Shared) {
  return {
    url: URL_BASE,
    storage: shared.storage,
    storageKey: "model",
    fetch: net.fetchFor(tab),
    now: () => Date.now(),
    coordinator: locks.coordinator(tab),
    autoRefresh: false,
    retryDelays: [0],
    retryBudget: 1000,
    requestTimeout: 1000,
    dpop: trace.bound,
    dpopKeyStore: shared.keys,
  };
}

interface Shared {
  storage: ReturnType<SdkModule["memoryStorage"]>;
  keys: ReturnType<SdkModule["memoryKeyStore"]>;
}

class Network {
  readonly requests: Req[] = [];
  overtaken = false;
  readonly #server: ModelServer;

  constructor(server: ModelServer) {
    this.#server = server;
  }

  fetchFor(tab: number): typeof fetch {
    return async (input, init) => {
      const path = new URL(String(input)).pathname.replace(/^.*\/session/, "");
      const proof = new Headers(init?.headers).get("dpop");
      if (path === "/start") return await this.#server.start(proof, Date.now());
      if (path !== "/refresh") throw new Error(`model replay: unexpected ${path}`);
      const token = String(JSON.parse(String(init?.body)).refresh_token);
      const g = Number(token.split(".")[1]);
      // session.pml's honest requests carry the device's key (rq_key), which an unbound
      // family ignores; to a bound one only a proof from its key counts.
      const key = this.#server.jkt === null || await this.#server.hasKey(proof);
      // session.pml `send`: an older token of this family still on the wire is overtaken.
      if (this.requests.some((r) => r.onWire && r.g < g)) this.overtaken = true;
      return await new Promise<Response>((resolve, reject) => {
        this.requests.push({ tab, g, key, onWire: true, waiting: true, matched: false, resolve, reject });
      });
    };
  }
}

/** Replays `trace` on `sdk` (the real SDK, or a mutant's patched copy). */
export async function replayOnSdk(trace: Trace, sdk: SdkModule): Promise<ReplayOutcome> {
  vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"], now: BASE });
  const log: string[] = [];
  const divergences: string[] = [];
  const server = new ModelServer(trace.grace);
  const net = new Network(server);
  const locks = new TabLocks();
  const shared: Shared = { storage: sdk.memoryStorage(), keys: sdk.memoryKeyStore() };
  const tabs: Tab[] = [];
  const flags = { cut: false, attackerRotated: false, attackerPresented: false, lost: false };
  const open = (i: number) => {
    const client = sdk.createSessionClient(options(trace, i, net, locks, shared));
    tabs[i] = { client, open: true, flight: null };
    return tabs[i];
  };
  /** The model's view of storage, from its events: generation, or null once signed out. */
  let modelStorage: number | null = 0;
  let lastJudged: { req: Req | null; judged: Judged; step: Step } | null = null;
  try {
    const first = open(0);
    open(1);
    await first.client.start("clerk-token");
    await settle();
    for (const [index, ev] of trace.events.entries()) {
      switch (ev.kind) {
        case "tick":
          // session.pml: no request stays on the wire longer than DELAY (1 tick). One the
          // model's client never sent (the SDK's own, when it parts from the model) and the
          // model never judged is lost on the way, which the model's network may always do.
          for (const r of net.requests) if (r.onWire && !r.matched) r.onWire = false;
          vi.advanceTimersByTime(1000);
          await settle();
          break;
        case "want":
          // mutant_read_before_lock: from here the tab's copy in memory goes stale.
          locks.hold(ev.tab);
          break;
        case "start": {
          const tab = tabs[ev.tab]?.open ? tabs[ev.tab] : open(ev.tab);
          const flight = tab.client.refresh().then(
            () => undefined,
            (err: { code?: string }) => {
              if (err?.code === "network_error") flags.lost = true; // session.pml: outage
              log.push(`tab ${ev.tab} refresh failed: ${err?.code}`);
            },
          );
          tab.flight = flight;
          void flight.finally(() => {
            if (tab.flight === flight) tab.flight = null;
          });
          await settle();
          locks.deliver(ev.tab);
          break;
        }
        case "send": {
          // Signing a proof is real WebCrypto work: wait for it in real time (a few seconds
          // at most, on a loaded machine), not a number of turns.
          let req: Req | undefined;
          const until = performance.now() + 5000;
          while (!(req = net.requests.find((r) => r.tab === ev.tab && !r.matched)) && performance.now() < until) {
            await settle(2);
          }
          if (!req) {
            divergences.push(`t=${ev.t}: the model's tab ${ev.tab} sends generation ${ev.g}; the SDK's sends nothing`);
            break;
          }
          req.matched = true;
          log.push(`t=${ev.t} tab ${ev.tab} sends ${req.g}`);
          if (req.g !== ev.g) {
            divergences.push(`t=${ev.t}: the model's tab ${ev.tab} sends generation ${ev.g}; the SDK's sends ${req.g}`);
          }
          break;
        }
        case "expire": {
          const req = net.requests.findLast((r) => r.tab === ev.tab && r.waiting);
          if (!req) break;
          req.waiting = false;
          req.reject(new TypeError("timed out"));
          await settle();
          break;
        }
        case "close": {
          const tab = tabs[ev.tab];
          if (!tab?.open) break;
          if (tab.flight) flags.lost = true;
          locks.closeTab(ev.tab);
          for (const r of net.requests) {
            if (r.tab !== ev.tab) continue;
            r.waiting = false;
            // A request the model's tab had not sent yet (the SDK's retry timer fired first)
            // dies with the tab; it must not stand in for the reopened tab's requests.
            if (!r.matched) {
              r.matched = true;
              r.onWire = false;
            }
          }
          tab.client.close();
          tab.open = false;
          await settle();
          break;
        }
        case "drop": {
          const req = net.requests.find((r) => r.onWire && r.tab === ev.who && r.g === ev.g);
          if (req) req.onWire = false;
          break;
        }
        case "judged": {
          const step = ev.step;
          if (step.who === ATTACKER) {
            const judged = server.decide(step.g, false, Date.now());
            if (judged.result === "rotated") flags.attackerRotated = true;
            if (judged.result === "dpop_mismatch" && step.g === judged.before) flags.attackerPresented = true;
            compare(step, judged, divergences);
            lastJudged = { req: null, judged, step };
            break;
          }
          // The model says "got" or "lost" right after judging a request whose tab still
          // waits for it, and nothing after one its tab abandoned (timed out, or the tab was
          // closed): of two requests of a tab on the wire, that tells which one this is.
          const next = trace.events[index + 1]?.kind;
          const awaited = next === "got" || next === "lost";
          const candidates = net.requests.filter((r) => r.onWire && r.tab === step.who);
          const req = candidates.find((r) => r.g === step.g && r.waiting === awaited) ??
            candidates.find((r) => r.g === step.g) ?? candidates[0];
          if (!req) {
            divergences.push(`t=${step.t}: the model's server judges "${describeStep(step)}"; no such request of the SDK is on the wire`);
            lastJudged = null;
            break;
          }
          req.onWire = false;
          const judged = server.decide(req.g, req.key, Date.now());
          log.push(`t=${step.t} server: tab ${req.tab} generation ${req.g}${req.key ? " with the key" : ""}: ${judged.result}`);
          if (judged.result === "reused" || judged.result === "dpop_mismatch") flags.cut = true;
          compare(step, judged, divergences);
          lastJudged = { req, judged, step };
          break;
        }
        case "got":
        case "lost": {
          if (ev.kind === "got" && lastJudged) {
            const { result, answer } = lastJudged.step;
            modelStorage = result === "rotated" || result === "grace" ? answer : null;
          }
          const req = lastJudged?.req;
          if (ev.kind === "got" && req?.waiting) {
            req.waiting = false;
            req.resolve(server.answer(lastJudged!.judged, Date.now()));
            await settle();
          }
          lastJudged = null;
          break;
        }
      }
    }
    await settle();
    const raw = await shared.storage.get("model");
    const stored = raw ? Number(JSON.parse(raw).refresh_token.split(".")[1]) : null;
    if (stored !== modelStorage) {
      divergences.push(`at the end the model's storage holds ${modelStorage ?? "nothing"}, the SDK's ${stored ?? "nothing"}`);
    }
  } finally {
    for (const tab of tabs) tab?.client.close();
    vi.useRealTimers();
  }
  const excused = flags.attackerRotated || flags.attackerPresented || net.overtaken || (!trace.bound && flags.lost);
  return { source: trace.source, bound: trace.bound, divergences, cut: flags.cut, honest: !flags.cut || excused, log };
}

function compare(step: Step, judged: Judged, divergences: string[]): void {
  const actual: Step = { ...step, g: judged.g, key: judged.key, result: judged.result, answer: judged.answer, gen: judged.gen, revoked: judged.revoked };
  if (describeStep(actual) !== describeStep(step)) {
    divergences.push(`model "${describeStep(step)}", replay "${describeStep(actual)}"`);
  }
}

export type { SdkMutant };
