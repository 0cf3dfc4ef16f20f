// Another service of this node watched through its heartbeat without a poll while it
// beats: its heartbeat is read, and read again only when it would turn stale (its last
// beat plus the timeout), two or three reads a second instead of ten. While it is not
// alive it is read every DEAD_POLL_MS, so that its return is seen as soon as before. (A
// clean stop needs no read: the fence records it as an event the vrrp service follows.)
// Where the native beater runs, its thread does those reads (beater.ts, watchHeartbeat)
// and this process wakes only when the service turns alive or not alive.
import { unwatchHeartbeat, watchHeartbeat } from './eventlog/beater.js';
import type { EventLog } from './eventlog/index.js';
import { serviceLiveness, type Liveness, type ServiceName } from './service.js';

const DEAD_POLL_MS = 100;

export class LivenessWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The timeout the native thread watches with (undefined: read on a timer here). */
  private nativeTimeoutMs: number | undefined;
  /** False once the native thread stopped watching for good. */
  private nativeAllowed = true;
  private lastAlive = false;

  constructor(private readonly o: { log: EventLog; service: ServiceName; timeoutMs: () => number; onRead(h: Liveness): void }) {}

  start(): void {
    this.stopped = false;
    this.read();
  }

  /** Reads the heartbeat now, tells onRead, and schedules the next read (or has the native thread watch). */
  read(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const timeoutMs = this.o.timeoutMs();
    const h = serviceLiveness(this.o.log, this.o.service, timeoutMs);
    this.lastAlive = h.alive;
    if (this.nativeTimeoutMs !== timeoutMs) {
      this.nativeTimeoutMs = this.nativeAllowed && watchHeartbeat(this, this.o.service, timeoutMs, DEAD_POLL_MS, () => this.lastAlive, () => this.read(), () => this.watchLost()) ? timeoutMs : undefined;
    }
    if (this.nativeTimeoutMs === undefined) this.timer = setTimeout(() => this.read(), h.staleInMs !== undefined ? h.staleInMs + 1 : DEAD_POLL_MS);
    this.o.onRead(h);
  }

  /** The native thread stopped watching: read on a timer from now on. */
  private watchLost(): void {
    this.nativeTimeoutMs = undefined;
    this.nativeAllowed = false;
    this.read();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.nativeTimeoutMs !== undefined) unwatchHeartbeat(this);
    this.nativeTimeoutMs = undefined;
  }
}
