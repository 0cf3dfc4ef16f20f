// Nice values as the kernel reports them (field 19 of /proc/PID[/task/TID]/stat).
import { readdirSync, readFileSync } from 'node:fs';

const niceIn = (stat: string) => Number(readFileSync(stat, 'utf8').replace(/^.*\) /, '').split(' ')[16]);

/** The nice value of a process (its main thread). */
export const niceOf = (pid: number): number => niceIn(`/proc/${pid}/stat`);

/** The distinct nice values of a process's threads. */
export function threadNices(pid: number): number[] {
  return [...new Set(readdirSync(`/proc/${pid}/task`).map((tid) => niceIn(`/proc/${pid}/task/${tid}/stat`)))];
}
