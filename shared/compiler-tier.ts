// Which of V8's compilers a service's code gets. The optimizing compiler (TurboFan) pays
// off for hot code; a service whose steady work is a few timers and packets a second has
// none, yet TurboFan goes on compiling its periodic functions one by one as each crosses
// its call budget, and what it makes stays resident. Measured on an idle director (one
// instance at 1 s, one VIP group, two checks): each process grew 1-3 MiB over 10 minutes
// and was still growing (malloc_trim gave back 1.5 of it), and started ~4 MiB larger; with
// bytecode and baseline code only (--max-opt=1) the same processes stayed flat over the
// run at the same CPU. So `vigil run` starts without it (what TurboFan compiles during the
// start-up stays: ~5 MiB a process), and a service gets it only when its configuration
// implies BUSY_PER_SECOND or more units of steady JavaScript work a second, decided once
// the configuration is read and again at each reload (V8 reads the flag at each decision
// to optimize). A VRRP advert is no such unit: the socket sends a master's and absorbs a
// backup's routine ones (native/vrrp_socket.c); a vrrp service with 100 instances at 100 ms
// ran at 1.8 % of a core both ways, 39 MiB with TurboFan and 34 without.
import { setFlagsFromString } from 'node:v8';
import type { VigilConfig } from './config/index.js';
import type { ServiceName } from './service-names.js';

export const BUSY_PER_SECOND = 20;
/** A bound group's renewals a second (the fence's heartbeat is at most 500 ms). */
const RENEWALS_PER_GROUP = 2;

/** Steady JavaScript work a second the configuration gives the service: renewals, checks, scripts. */
export function steadyWorkPerSecond(service: ServiceName, c: VigilConfig, node: string): number {
  switch (service) {
    case 'vrrp': // routine adverts are the socket's; the JavaScript runs for changes only
      return 0;
    case 'fence':
      return Object.keys(c.vip_groups).length * RENEWALS_PER_GROUP;
    case 'health': {
      let n = Object.values(c.track_scripts).reduce((s, x) => s + 1 / x.interval, 0);
      for (const vs of Object.values(c.virtual_servers)) {
        for (const rs of vs.real_servers) for (const check of rs.checks) n += 1 / (check.delay_loop ?? vs.delay_loop);
      }
      return n;
    }
    // These act on what the others record (an idle cluster records nothing): as busy as what they follow.
    case 'ipvs':
      return steadyWorkPerSecond('health', c, node);
    case 'relay':
      return (['fence', 'health'] as const).reduce((n, s) => n + steadyWorkPerSecond(s, c, node), 0);
  }
}

export type CompilerTier = 'optimizing' | 'baseline';

export const compilerTierFor = (service: ServiceName, c: VigilConfig, node: string): CompilerTier =>
  steadyWorkPerSecond(service, c, node) >= BUSY_PER_SECOND ? 'optimizing' : 'baseline';

let current: CompilerTier = 'optimizing'; // V8's default

/** From now on, functions that turn hot get the given tier's code (what is compiled stays). */
export function useCompilerTier(tier: CompilerTier): void {
  if (tier === current) return;
  current = tier;
  setFlagsFromString(tier === 'optimizing' ? '--max-opt=999' : '--max-opt=1');
  if (tier === 'optimizing') setFlagsFromString('--turbofan'); // --max-opt=1 turned it off
}
