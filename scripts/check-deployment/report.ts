/**
 * The check's findings and how they print: one line per check, ✔ passed, ✘ failed
 * (with what to do about it), ! a warning (with what to do; not a failure), – skipped
 * (with why), then a summary line.
 */
import { isLoopbackHostname } from "../../dev/loopback.ts";

export type Outcome = "pass" | "fail" | "warn" | "skip";

/** One finding. */
export interface Finding {
  readonly outcome: Outcome;
  /** What was checked, in a few words. */
  readonly title: string;
  /** What was found (pass), what is wrong (fail) or why it did not run (skip). */
  readonly detail?: string;
  /** For a failure: the fix, in plain words. */
  readonly fix?: string;
}

export const pass = (title: string, detail?: string): Finding => ({ outcome: "pass", title, detail });
export const fail = (title: string, detail: string, fix: string): Finding => ({
  outcome: "fail",
  title,
  detail,
  fix,
});
export const warn = (title: string, detail: string, fix: string): Finding => ({
  outcome: "warn",
  title,
  detail,
  fix,
});
export const skip = (title: string, why: string): Finding => ({ outcome: "skip", title, detail: why });

const MARK: Record<Outcome, string> = { pass: "✔", fail: "✘", warn: "!", skip: "–" };

/** A section of findings under a heading. */
export interface Section {
  readonly heading: string;
  readonly findings: readonly Finding[];
}

/** The whole report as text. */
export function formatReport(target: string, sections: readonly Section[]): string {
  const lines = [`sessionguard deployment check: ${target}`, ""];
  for (const section of sections) {
    lines.push(section.heading);
    for (const finding of section.findings) {
      lines.push(`  ${MARK[finding.outcome]} ${finding.title}${finding.detail ? `: ${finding.detail}` : ""}`);
      if (finding.fix) lines.push(`      fix: ${finding.fix}`);
    }
    lines.push("");
  }
  const all = sections.flatMap((section) => section.findings);
  const count = (outcome: Outcome) => all.filter((finding) => finding.outcome === outcome).length;
  const warned = count("warn") > 0 ? `, ${count("warn")} warning(s)` : "";
  lines.push(`${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped${warned}`);
  return lines.join("\n");
}

/** Whether any finding failed. */
export function failed(sections: readonly Section[]): boolean {
  return sections.some((section) => section.findings.some((finding) => finding.outcome === "fail"));
}

/** Nothing answered at a URL: the network, not the service, is what is wrong. */
export class Unreachable extends Error {
  readonly url: string;
  constructor(url: string, cause: string) {
    super(`cannot reach ${url} (${cause})`);
    this.name = "Unreachable";
    this.url = url;
  }
}

/** fetch with a timeout; a network failure becomes an {@link Unreachable}. */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 15_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(ms) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Unreachable(url, cause ?? (error as Error).message);
  }
}

/** Whether `url` names this machine (the local stack). */
export function isLocal(url: string): boolean {
  try {
    return isLoopbackHostname(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** The fix for "nothing answers at `url`", local or remote; `flag` names the option to correct. */
export function reachFix(url: string, flag: string): string {
  const origin = new URL(url).origin;
  return isLocal(url)
    ? `nothing listens at ${origin}: start the local stack (npm start, port 54321 unless SG_PORT), or give ${flag} the URL it printed`
    : `check ${flag} (a hosted project answers at https://<ref>.supabase.co), DNS and your network or proxy`;
}

/** The body as JSON, or null when it is not JSON. */
export async function jsonOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
