/**
 * The React example in Chromium, set up once per test file: the browser stack (npm start
 * or its stand-in), the example's Vite server against it, and Chromium; every browser
 * context a test opens is closed after the file. Call at the top level of a test file.
 */
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { type ExampleServer, startExample } from "./example-server.ts";
import { type BrowserStack, launchBrowser, startBrowserStack } from "./launcher.ts";

export interface ExampleHarness {
  readonly stack: BrowserStack;
  readonly example: ExampleServer;
  readonly browser: Browser;
  /** A new browser context (closed after the file), `width` px wide. */
  newContext(width?: number): Promise<BrowserContext>;
}

export function useExampleHarness(): ExampleHarness {
  let stack: BrowserStack | undefined;
  let example: ExampleServer | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
    example = await startExample(new URL(stack.pageUrl).origin);
  }, 150_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await example?.stop();
    await stack?.stop();
  });

  return {
    get stack() {
      return stack!;
    },
    get example() {
      return example!;
    },
    get browser() {
      return browser!;
    },
    async newContext(width = 1100) {
      const context = await browser!.newContext({ viewport: { width, height: 900 } });
      contexts.push(context);
      return context;
    },
  };
}
