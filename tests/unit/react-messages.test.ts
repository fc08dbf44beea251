/**
 * The device list's browser column: `describeBrowser` and `describeUserAgent` on user agents
 * as real browsers send them (Edge, Opera and Samsung Internet say "Chrome" too, Chrome says
 * "Safari" too, iOS browsers name themselves with their own tokens).
 */
import { describe, expect, it } from "vitest";
import { describeBrowser, describeUserAgent } from "../../packages/react/src/messages.ts";

const AGENTS: [agent: string, browser: string, full: string][] = [
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome 131",
    "Chrome on Windows",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "Edge 131",
    "Edge on Windows",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
    "Opera 115",
    "Opera on macOS",
  ],
  ["Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133", "Firefox on Linux"],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Safari 18",
    "Safari on macOS",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Safari 17",
    "Safari on iOS",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Chrome 131",
    "Chrome on iOS",
  ],
  [
    "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Samsung Internet 26",
    "Samsung Internet on Android",
  ],
];

describe("the browser column", () => {
  for (const [agent, browser, full] of AGENTS) {
    it(`${full}: "${browser}"`, () => {
      expect(describeBrowser(agent)).toBe(browser);
      expect(describeUserAgent(agent)).toBe(full);
    });
  }

  it("says nothing rather than guess", () => {
    expect(describeBrowser(null)).toBe("");
    expect(describeBrowser("")).toBe("");
    expect(describeBrowser("curl/8.5.0")).toBe("");
    expect(describeUserAgent("curl/8.5.0")).toBe("");
    expect(describeBrowser("node")).toBe("");
  });
});
