// Another service of this node watched through its heartbeat without a poll while it
// beats: its heartbeat is read, and read again only when it would turn stale (its last
// beat plus the timeout), two or three reads a second instead of ten. While it is not
// alive it is read every DEAD_POLL_MS, so that its return is seen as soon as before. (A
// clean stop needs no read: the fence records it as an event the vrrp service follows.)
import type { EventLog } from './eventlog/index.js';
import { serviceLiveness, type Liveness, type ServiceName } from './service.js';

const DEAD_POLL_MS = 100;

export class LivenessWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: { log: EventLog; service: ServiceName; timeoutMs: () => number; onRead(h: Liveness): void }) {}

  start(): void {
    this.stopped = false;
    this.read();
  }

  /** Reads the heartbeat now, tells onRead, and schedules the next read. */
  read(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const h = serviceLiveness(this.o.log, this.o.service, this.o.timeoutMs());
    this.timer = setTimeout(() => this.read(), h.staleInMs !== undefined ? h.staleInMs + 1 : DEAD_POLL_MS);
    this.o.onRead(h);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
