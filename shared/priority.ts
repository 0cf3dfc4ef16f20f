// A service whose timers are the VIP's (vrrp, fence) runs ahead of ordinary processes,
// as keepalived's vrrp_priority does: on a busy machine a process at ordinary priority
// waits for a CPU, its adverts and lease renewals with it.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Sets the nice value of every thread of this process (Linux keeps it per thread; threads
 * started later inherit the main thread's). Returns why it could not (no CAP_SYS_NICE, as
 * in a container by default), or undefined when it did or there was nothing to do.
 */
export function setOwnPriority(nice: number): string | undefined {
  if (nice === 0) return undefined;
  let threads: number[];
  try {
    threads = readdirSync('/proc/self/task').map(Number).filter(Number.isInteger);
  } catch {
    threads = [0];
  }
  try {
    for (const tid of threads) setPriority(tid, nice);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Sets a child's nice value where allowed; false where not. */
export function setChildPriority(pid: number | undefined, nice: number): boolean {
  if (pid === undefined) return false;
  try {
    setPriority(pid, nice);
    return true;
  } catch {
    return false;
  }
}
