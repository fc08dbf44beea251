/** Progress lines and small number helpers shared by the bench scenarios. */

const started = performance.now();

/** Prints `[mm:ss] scope  message` so a long run shows where it is. */
export function progress(scope: string, message: string): void {
  const seconds = Math.floor((performance.now() - started) / 1000);
  const stamp = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${
    String(seconds % 60).padStart(2, "0")
  }`;
  process.stdout.write(`[${stamp}] ${scope.padEnd(8)} ${message}\n`);
}

/** Seconds since the run started. */
export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The p-th percentile (0-100) of an ascending array, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Rounds to `digits` significant decimals for reports (keeps integers whole). */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `value / base`, or NaN when either is missing or the base is zero. */
export function ratio(value: number, base: number): number {
  return Number.isFinite(value) && Number.isFinite(base) && base !== 0 ? value / base : NaN;
}
