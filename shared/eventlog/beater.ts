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
}

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
    const addon = loadAddon<PulseBeatAddon>('pulse_beat', ['start', 'stop', 'stats']);
    mkdirSync(dirname(heartbeatsPath(logPath)), { recursive: true });
    addon.start(heartbeatsPath(logPath), slotOffset(service), process.pid, periodMs, diskProbePath(logPath, service), DISK_PROBE_MS);
    return { written: () => addon.stats()[0], missed: () => addon.stats()[1], idle: () => addon.stats()[2], stop: () => addon.stop() };
  } catch (err) {
    onFallback(err);
    const timer = setInterval(jsBeat, periodMs);
    return { written: () => undefined, missed: () => 0, idle: () => undefined, stop: () => clearInterval(timer) };
  }
}
