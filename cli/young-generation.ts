// A service's young generation stays at V8's initial size (two 1 MiB semi-spaces) instead
// of growing to 2 x 16 MiB after the first bursts of allocation (start-up, a reload), which
// then stay resident: ~24 MiB of a churning process's RSS. What it costs is more frequent
// scavenges (each well under a millisecond for these heaps). Set before any module loads;
// V8 reads this flag whenever it would grow the space. Only for `vigil run`: a CLI command
// that reads a large log keeps V8's defaults.
//
// Likewise glibc's malloc arenas: one for every thread that allocates by default, each
// keeping what its thread freed (the checkpoint thread's and V8's compiler threads' left
// 5-8 MiB resident in each service); one arena for the whole process, before those threads
// allocate (tcache keeps small allocations lock-free per thread).
import { setFlagsFromString } from 'node:v8';
import { loadAddon } from '../shared/native.js';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

export function keepMallocArenasFew(): void {
  try {
    loadAddon<{ limitArenas(n: number): boolean }>('pulse_beat', ['limitArenas']).limitArenas(1);
  } catch {
    // without the addon (it is built by npm ci) the default arenas; the service says so when its beats start
  }
}
