// A service's heartbeat, written every period by a thread of its own (native/pulse_beat.c):
// no JavaScript wakes for it, and an idle event loop is not even woken (the thread sees it
// waiting for I/O). The thread beats only while the event loop waits for I/O or answers it,
// and the disk takes a fresh block, as a beat from JavaScript would (pulse.ts); without the
// addon the beats come from a JavaScript timer instead.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadAddon } from '../native.js';
import { heartbeatsPath, slotOffset } from './heartbeats.js';
import { DISK_PROBE_MS, diskProbePath } from './pulse.js';

interface PulseBeatAddon {
  start(file: string, offset: number, pid: number, periodMs: number, probeFile: string, probeEveryMs: number): void;
  stop(): void;
  stats(): [number, number, number];
  watch(offset: number, timeoutMs: number, onChange: () => void, alive: boolean, deadPollMs: number): boolean;
  unwatch(offset?: number): void;
  watchStats(): [number, number];
}

/** The addon while its thread beats (a watch needs that thread), and the slots watched with it (by offset). */
let running: PulseBeatAddon | undefined;
interface Watched { owner: object; offset: number; timeoutMs: number; deadPollMs: number; onChange: () => void; onLost: () => void; alive: () => boolean }
const watched = new Map<number, Watched>();
/** As many slots as the addon watches at once (MAX_WATCHES in pulse_beat.c). */
const MAX_WATCHES = 8;
const nativeWatch = (addon: PulseBeatAddon, w: Watched) => addon.watch(w.offset, w.timeoutMs, w.onChange, w.alive(), w.deadPollMs);

export interface Beater {
  /** Beats written since the start (undefined from a JavaScript timer). */
  written(): number | undefined;
  /** Beats missed since the start (the disk refused a block, or the write failed). */
  missed(): number;
  /** Periods the event loop was found waiting for I/O (beaten without waking it); undefined from a JavaScript timer. */
  idle(): number | undefined;
  stop(): void;
}

/** Beats for `service` of the log at logPath every periodMs, from a thread; `jsBeat` every period when the addon is not there (reported through onFallback). */
export function startBeater(logPath: string, service: string, periodMs: number, jsBeat: () => void, onFallback: (err: unknown) => void): Beater {
  try {
    const addon = loadAddon<PulseBeatAddon>('pulse_beat', ['start', 'stop', 'stats', 'watch', 'unwatch', 'watchStats']);
    mkdirSync(dirname(heartbeatsPath(logPath)), { recursive: true });
    addon.start(heartbeatsPath(logPath), slotOffset(service), process.pid, periodMs, diskProbePath(logPath, service), DISK_PROBE_MS);
    running = addon;
    for (const w of watched.values()) nativeWatch(addon, w); // a beater started again (a new period)
    return {
      written: () => addon.stats()[0],
      missed: () => addon.stats()[1],
      idle: () => addon.stats()[2],
      stop: () => {
        addon.stop();
        if (running === addon) running = undefined;
      },
    };
  } catch (err) {
    const lost = [...watched.values()]; // a beater that started again from JavaScript: each watcher reads on its own
    watched.clear();
    for (const w of lost) w.onLost();
    onFallback(err);
    const timer = setInterval(jsBeat, periodMs);
    return { written: () => undefined, missed: () => 0, idle: () => undefined, stop: () => clearInterval(timer) };
  }
}

/**
 * Watches another service's heartbeat (of the same log as this process's beats) from the
 * beater's thread, one watch per slot (its owner's), from the state the caller last read
 * (alive()): onChange is called when it turns alive or not alive (or another process beats
 * there), and nothing runs in between; while it is not alive the thread reads it every
 * deadPollMs. False when no native beater runs or the slot is another owner's (the caller
 * reads on a timer of its own); onLost if it then stops for good (the beats go on from a
 * JavaScript timer).
 */
export function watchHeartbeat(owner: object, service: string, timeoutMs: number, deadPollMs: number, alive: () => boolean, onChange: () => void, onLost: () => void): boolean {
  const offset = slotOffset(service);
  const current = watched.get(offset);
  if (!running || (current && current.owner !== owner) || (!current && watched.size >= MAX_WATCHES)) return false;
  const w = { owner, offset, timeoutMs, deadPollMs, onChange, onLost, alive };
  watched.set(offset, w);
  return nativeWatch(running, w);
}

/** Ends the owner's watch of that service's slot, or all its watches. */
export function unwatchHeartbeat(owner: object, service?: string): void {
  for (const w of [...watched.values()]) {
    if (w.owner !== owner || (service !== undefined && w.offset !== slotOffset(service))) continue;
    watched.delete(w.offset);
    running?.unwatch(w.offset);
  }
}

/** [reads of watched slots, onChange calls] by the native thread (undefined without one). */
export function heartbeatWatchStats(): [number, number] | undefined {
  return running?.watchStats();
}
