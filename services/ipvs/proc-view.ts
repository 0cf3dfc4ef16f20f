// The kernel's IPVS table as /proc/net/ip_vs shows it, without its connection counters: read
// without starting a process, it tells whether the table changed since the last look.
// It lacks some of what ipvsadm -Sn shows (thresholds, scheduler flags, persistence
// engine, tunnel type): a full read still comes now and then.
import { readFileSync } from 'node:fs';

const PROC_IPVS = '/proc/net/ip_vs';

/** /proc/net/ip_vs's text without the ActiveConn and InActConn columns of its real servers. */
export function procViewOf(text: string): string {
  return text.split('\n').map((l) => (l.startsWith('  -> ') ? l.trim().split(/\s+/).slice(0, 4).join(' ') : l.trimEnd())).join('\n');
}

/** undefined: no such file (this kernel has no IPVS, or its module is not loaded yet). */
export function readProcView(path = PROC_IPVS): string | undefined {
  try {
    return procViewOf(readFileSync(path, 'latin1'));
  } catch {
    return undefined;
  }
}
