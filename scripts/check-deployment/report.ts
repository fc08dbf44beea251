/**
 * The check's findings and how they print: one line per check, ✔ passed, ✘ failed
 * (with what to do about it), – skipped (with why), then a summary line.
 */

export type Outcome = "pass" | "fail" | "skip";

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
export const skip = (title: string, why: string): Finding => ({ outcome: "skip", title, detail: why });

const MARK: Record<Outcome, string> = { pass: "✔", fail: "✘", skip: "–" };

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
  lines.push(`${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped`);
  return lines.join("\n");
}

/** Whether any finding failed. */
export function failed(sections: readonly Section[]): boolean {
  return sections.some((section) => section.findings.some((finding) => finding.outcome === "fail"));
}

/** fetch with a timeout; a network failure becomes a thrown Error with a readable message. */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 15_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(ms) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach ${url} (${cause ?? (error as Error).message})`);
  }
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
