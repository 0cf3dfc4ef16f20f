// Loads one of the project's own Node-API addons (native/, built by `npm ci`).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

const loaded = new Map<string, unknown>();

/** The addon native/build/Release/<name>.node, checked to export every function in `functions`. */
export function loadAddon<T extends object>(name: string, functions: readonly (keyof T & string)[]): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const path = join(packageRoot(), `native/build/Release/${name}.node`);
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (err) {
    throw new Error(`cannot load the addon ${path} (run npm ci or npm run build:native): ${(err as Error).message}`);
  }
  const missing = functions.filter((f) => typeof (mod as Record<string, unknown>)[f] !== 'function');
  if (missing.length > 0) throw new Error(`${path} is not the ${name} addon (no ${missing.join(', ')})`);
  loaded.set(name, mod);
  return mod as T;
}

/** The process's memory (glibc's malloc, its mappings), through the beater's addon (it is loaded by every service anyway). */
interface MemoryAddon {
  trim(): boolean;
  limitArenas(n: number): boolean;
  unmapCleanFilePages(): number;
}

/** Calls the addon; `without` where it cannot load (each call is an optimisation, never needed). */
function withMemoryAddon<T>(call: (m: MemoryAddon) => T, without: T): T {
  try {
    return call(loadAddon<MemoryAddon>('pulse_beat', ['trim', 'limitArenas', 'unmapCleanFilePages']));
  } catch {
    return without;
  }
}

/**
 * Gives what malloc holds free back to the system (glibc's malloc_trim), after a burst of
 * allocation ended (a thread that ended: its arena keeps what it freed). False without the addon.
 */
export const releaseFreedMemory = (): boolean => withMemoryAddon((m) => m.trim(), false);

/**
 * One malloc arena for the whole process (glibc's default is one per thread that
 * allocates, each keeping what its thread freed: the checkpoint thread's and V8's compiler
 * threads' left 5-8 MiB resident in each service). Called before those threads allocate;
 * tcache keeps small allocations lock-free per thread. False without the addon.
 */
export const limitMallocArenas = (): boolean => withMemoryAddon((m) => m.limitArenas(1), false);

/**
 * Unmaps the pages the process maps read-only from files (the node binary, its libraries)
 * and never wrote, once start-up is over: start-up and the kernel's fault-around leave
 * ~38 MiB of the node binary mapped in each service, where an idle one uses a few MiB.
 * They stay in the page cache (shared by every node process) and are mapped again by the
 * next access, a minor fault. Bytes of the mappings advised (0 without the addon).
 */
export const unmapStartUpPages = (): number => withMemoryAddon((m) => m.unmapCleanFilePages(), 0);
