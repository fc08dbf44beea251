/**
 * What the bench reads about the processes it loads, from /proc: resident memory and
 * CPU time of a process, of one of its threads, and of a process tree (Postgres).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size of a process in kilobytes (VmRSS), or NaN when it is gone. */
export function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleRss(
  pid: number,
  intervalMs = 200,
): { stop(): { peakKb: number; meanKb: number; samples: number } } {
  const samples: number[] = [];
  const take = () => {
    const kb = rssKb(pid);
    if (Number.isFinite(kb)) samples.push(kb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const peakKb = samples.length ? Math.max(...samples) : NaN;
      const meanKb = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN;
      return { peakKb, meanKb, samples: samples.length };
    },
  };
}

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ..., utime, stime, cutime, cstime, ...]. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU milliseconds a process has used (user + system), its waited-for children included when asked. */
export function cpuMs(pid: number, withChildren = false): number {
  const fields = statFields(pid);
  if (!fields) return NaN;
  // utime, stime, cutime, cstime are fields 14-17 of stat, i.e. indexes 11-14 here.
  let ticks = Number(fields[11]) + Number(fields[12]);
  if (withChildren) ticks += Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / ticksPerSecond();
}

/** CPU milliseconds (user + system) of thread `tid` of process `pid`; the main thread's by default. */
export function threadCpuMs(pid: number, tid = pid): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** Parent pid of a process, or NaN. */
export function parentPid(pid: number): number {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : NaN;
}

/**
 * CPU milliseconds used by a process tree rooted at `rootPid`: the root, the
 * children it has already reaped, and every live descendant (for Postgres:
 * the postmaster, its background workers and every backend).
 */
export function treeCpuMs(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentPid(Number(entry));
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  let total = 0;
  const visit = (pid: number, root: boolean) => {
    const used = cpuMs(pid, true);
    if (Number.isFinite(used)) total += used;
    else if (root) total = NaN;
    for (const child of children.get(pid) ?? []) visit(child, false);
  };
  visit(rootPid, true);
  return total;
}
