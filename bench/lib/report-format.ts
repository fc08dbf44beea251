/**
 * The markdown helpers every section of the generated BENCHMARKS.md uses:
 * number formats (a figure that is not finite prints as "–"), sizes, the
 * met/missed mark, a run's error counts and a GitHub table.
 */
import type { MeasuredRun } from "./results.ts";

/** 1000000 → "1M", 10000 → "10k", anything else as is. */
export function short(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}
/** Rounded, with thousands separators. */
export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–");
/** Fixed decimals (2 unless told). */
export const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
/** Bytes as MiB, two decimals. */
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
/** Bytes as KiB, no decimals. */
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
/** A target's verdict. */
export const mark = (met: boolean) => (met ? "met" : "**missed**");
/** A run's errors by code, or "none". */
export function errors(run: MeasuredRun): string {
  const list = Object.entries(run.errors).map(([code, n]) => `${n}× ${code}`);
  return list.length ? list.join(", ") : "none";
}
/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}
