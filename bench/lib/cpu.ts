import { readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks; 100 per second on every kernel config we run. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms; NaN where /proc is unavailable. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Starts counting: the returned function gives the CPU ms each named process (and this one) used since. */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const self = process.cpuUsage();
  return () => {
    const used: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - before[k]!]));
    const d = process.cpuUsage(self);
    used['load generator'] = (d.user + d.system) / 1000;
    return used;
  };
}
