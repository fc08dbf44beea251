/**
 * One origin's Web Locks and BroadcastChannel, for tabs simulated in one process, with the
 * two things a test needs that the in-process coordinator cannot do: close a tab (its locks
 * are released and its pending requests dropped, whatever its code is still awaiting), and
 * hold back the messages to a tab (a frozen or throttled tab that misses the hand-over).
 *
 * The rules copied from the Web Locks API (W3C, https://w3c.github.io/web-locks/, §"Lock
 * requests are granted in order" and §"Terminating an agent releases its locks": an
 * exclusive lock is granted to one request at a time, in request order; it is released
 * when the callback's promise settles, or when the tab holding it goes away) and from
 * BroadcastChannel (HTML §9.5: a message reaches every other channel of the same name,
 * never the sender, asynchronously, in posting order per sender).
 */
import type { Coordinator, TabMessage } from "../../../packages/client/src/index.ts";

interface Request {
  tab: number;
  grant: () => void;
}

export class TabLocks {
  #holder: number | null = null;
  #release: (() => void) | null = null;
  readonly #queue: Request[] = [];
  readonly #listeners = new Map<number, Set<(m: TabMessage) => void>>();
  readonly #held = new Map<number, TabMessage[]>();
  readonly #closed = new Set<number>();

  /** The tab holding the lock, or null. */
  get holder(): number | null {
    return this.#holder;
  }

  /** A coordinator for tab `tab` (a tab reopened after `closeTab` gets a new one). */
  coordinator(tab: number): Coordinator {
    this.#closed.delete(tab);
    const mine = new Set<(m: TabMessage) => void>();
    this.#listeners.set(tab, mine);
    return {
      withLock: <T>(_name: string, fn: () => Promise<T>) =>
        new Promise<T>((resolve, reject) => {
          this.#queue.push({
            tab,
            grant: () => {
              let released = false;
              const release = () => {
                if (released) return;
                released = true;
                if (this.#holder === tab && this.#release === release) {
                  this.#holder = null;
                  this.#release = null;
                  this.#next();
                }
              };
              this.#holder = tab;
              this.#release = release;
              fn().then(resolve, reject).finally(release);
            },
          });
          this.#next();
        }),
      publish: (message) => {
        if (this.#closed.has(tab)) return;
        for (const [other, listeners] of this.#listeners) {
          if (other === tab || this.#closed.has(other)) continue;
          const held = this.#held.get(other);
          if (held) held.push(message);
          else for (const l of listeners) queueMicrotask(() => l(message));
        }
      },
      subscribe: (listener) => {
        mine.add(listener);
        return () => mine.delete(listener);
      },
      close: () => mine.clear(),
    };
  }

  /**
   * The tab goes away: the lock it holds is released (its code may still be awaiting
   * something; it will never run again as far as the other tabs can tell), its queued
   * requests are dropped and it hears nothing more.
   */
  closeTab(tab: number): void {
    this.#closed.add(tab);
    this.#listeners.get(tab)?.clear();
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i].tab === tab) this.#queue.splice(i, 1);
    }
    if (this.#holder === tab) {
      this.#holder = null;
      this.#release = null;
      this.#next();
    }
  }

  /** Messages to `tab` wait until `deliver(tab)`. */
  hold(tab: number): void {
    if (!this.#held.has(tab)) this.#held.set(tab, []);
  }

  deliver(tab: number): void {
    const held = this.#held.get(tab) ?? [];
    this.#held.delete(tab);
    for (const message of held) {
      for (const l of this.#listeners.get(tab) ?? []) queueMicrotask(() => l(message));
    }
  }

  #next(): void {
    if (this.#holder !== null) return;
    const request = this.#queue.shift();
    request?.grant();
  }
}
