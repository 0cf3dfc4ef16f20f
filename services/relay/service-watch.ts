// Notices a service of this node that stopped beating without recording its stop
// (SIGKILL, a hang, a crash): a clean stop sets its heartbeat to 0 and records
// service.stopped, so silence alone means something went wrong. Recorded once per
// process (pid), also across restarts of the relay.
import { unwatchHeartbeat, watchHeartbeat } from '../../shared/eventlog/beater.js';
import { isEvent, serviceSubject, type EventLog } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { recorder, serviceView } from '../../shared/service.js';

const WATCHED = ['vrrp', 'fence', 'health', 'ipvs'] as const;
type Watched = (typeof WATCHED)[number];

export class ServiceWatch {
  private readonly append;
  private readonly reported = new Set<string>();
  /** Each service's state at the last read: alive or not. */
  private readonly alive = new Map<Watched, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Whether the native beater's thread reads the heartbeats (this process wakes when one turns alive or not). */
  private native = false;
  /** False once that thread stopped watching for good. */
  private nativeAllowed = true;

  constructor(private readonly o: { log: EventLog; logger: Logger; silentMs: number }) {
    this.append = recorder(o.log, o.logger);
  }

  start(): void {
    this.stopped = false;
    this.check();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.native) unwatchHeartbeat(this);
    this.native = false;
  }

  /**
   * Reads the heartbeats; then the native beater's thread watches them (this runs again when
   * one turns alive or not alive), or else they are read again when the first of those alive
   * would turn silent (no poll while they beat). A service not beating is read again after
   * silentMs (one that starts and dies within that is still seen silent then).
   */
  private check(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const next = this.checkNow();
    if (next.readable && this.watchNatively()) return;
    this.timer = setTimeout(() => this.check(), Math.max(1, next.at - Date.now()));
  }

  private watchNatively(): boolean {
    if (this.native) return true;
    if (!this.nativeAllowed) return false;
    const silentMs = this.o.silentMs;
    for (const service of WATCHED) {
      const ok = watchHeartbeat(this, service, silentMs, silentMs, () => this.alive.get(service) ?? false, () => this.check(), () => this.watchLost());
      if (!ok) {
        unwatchHeartbeat(this);
        return false;
      }
    }
    this.native = true;
    return true;
  }

  /** The native thread stopped watching (for every slot at once): read on a timer from now on. */
  private watchLost(): void {
    if (!this.native) return;
    this.native = false;
    this.nativeAllowed = false;
    this.check();
  }

  /** When to read again (unix ms), and whether the heartbeats could be read. */
  private checkNow(): { at: number; readable: boolean } {
    const now = Date.now();
    let next = now + this.o.silentMs;
    for (const service of WATCHED) {
      let hb: { pid: number; ts: number } | undefined;
      try {
        hb = this.o.log.heartbeat(service);
      } catch (err) {
        this.o.logger.warn('cannot read heartbeats', { err });
        return { at: now + this.o.silentMs / 4, readable: false };
      }
      const v = serviceView(service, hb, now, this.o.silentMs);
      this.alive.set(service, v.state === 'alive');
      if (v.state === 'alive') next = Math.min(next, now + this.o.silentMs - v.age_ms! + 1);
      if (v.state !== 'silent') continue;
      const key = `${service}:${v.pid}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const [last] = this.o.log.query({ types: ['relay.service_lost'], subject: serviceSubject(service), newest: true, limit: 1 });
      if (last && isEvent(last, 'relay.service_lost') && last.data.pid === v.pid) continue;
      this.append({ type: 'relay.service_lost', source: 'relay', subject: serviceSubject(service), data: { service, pid: v.pid!, silent_ms: v.age_ms! } });
    }
    return { at: next, readable: true };
  }
}
