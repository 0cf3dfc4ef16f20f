// What /proc says about a process the benchmark started: CPU seconds and resident memory.
import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ

/** utime and stime of a process, in seconds. */
export function cpuSeconds(pid: number): { user: number; system: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(f[11]) / TICKS;
  const system = Number(f[12]) / TICKS;
  return { user, system, total: user + system };
}

/** Lines of /proc/<pid>/status in MiB, read once (NaN each: gone). */
function statusMiB<F extends string>(pid: number, fields: readonly F[]): Record<F, number> {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // gone: NaN below
  }
  const out = {} as Record<F, number>;
  for (const f of fields) {
    const m = new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text);
    out[f] = m ? Number(m[1]) / 1024 : NaN;
  }
  return out;
}

export const rssMiB = (pid: number): number => statusMiB(pid, ['VmRSS']).VmRSS;

/** Proportional set size: shared pages counted once among the processes that share them. */
export function pssMiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A process's children (keepalived's VRRP and checker processes), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every descendant of a process (its helpers: ip, the dead man's switch, probes), from /proc. */
export function descendantPids(pid: number): number[] {
  return childPids(pid).flatMap((c) => [c, ...descendantPids(c)]);
}

/** CPU seconds of a process and its helpers: its own, its reaped children's, and those of the descendants still running. */
export function treeCpuSeconds(pid: number): number {
  const own = (p: number) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14])) / TICKS;
    } catch {
      return 0; // ended meanwhile: its parent's reaped-children time has it
    }
  };
  return [pid, ...descendantPids(pid)].reduce((a, p) => a + own(p), 0);
}

/** Summed over a process and its running descendants; RSS also as its anonymous and file-backed parts. */
export function treeMemory(pid: number): { rss: number; pss: number; anon: number; file: number } {
  const all = [pid, ...descendantPids(pid)];
  const each = all.map((p) => ({ ...statusMiB(p, ['VmRSS', 'RssAnon', 'RssFile']), pss: pssMiB(p) }));
  const sum = (f: (m: (typeof each)[number]) => number) => each.reduce((a, m) => a + (Number.isNaN(f(m)) ? 0 : f(m)), 0);
  return { rss: sum((m) => m.VmRSS), pss: sum((m) => m.pss), anon: sum((m) => m.RssAnon), file: sum((m) => m.RssFile) };
}
