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
export function sampleRss(pid: number, intervalMs = 200): { stop(): { peakKb: number; meanKb: number } } {
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
      return { peakKb: Math.max(...samples), meanKb: samples.reduce((a, b) => a + b, 0) / samples.length };
    },
  };
}

/** Clock ticks per second of /proc's CPU times. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** Fields of /proc/<pid>[/task/<tid>]/stat after the command name: [state, ppid, ..., utime, stime, cutime, cstime, ...]. */
function statFields(file: string): string[] | null {
  try {
    const stat = readFileSync(file, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU ms (user + system) from stat fields; utime, stime, cutime, cstime are fields 14-17, indexes 11-14 here. */
const cpuOf = (fields: string[] | null, withChildren: boolean) =>
  fields ? ((Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0)) * 1000) / TICKS : NaN;

/** CPU milliseconds a process has used, its waited-for children included when asked. */
export const cpuMs = (pid: number, withChildren = false) => cpuOf(statFields(`/proc/${pid}/stat`), withChildren);

/** CPU milliseconds of thread `tid` of process `pid`; the main thread's by default. */
export const threadCpuMs = (pid: number, tid = pid) => cpuOf(statFields(`/proc/${pid}/task/${tid}/stat`), false);

/** Parent pid of a process, or NaN. */
export function parentPid(pid: number): number {
  const fields = statFields(`/proc/${pid}/stat`);
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
