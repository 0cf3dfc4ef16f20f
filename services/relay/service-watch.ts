// Notices a service of this node that stopped beating without recording its stop
// (SIGKILL, a hang, a crash): a clean stop sets its heartbeat to 0 and records
// service.stopped, so silence alone means something went wrong. Recorded once per
// process (pid), also across restarts of the relay.
import { isEvent, serviceSubject, type EventLog } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { recorder, serviceView } from '../../shared/service.js';

const WATCHED = ['vrrp', 'fence', 'health', 'ipvs'] as const;

export class ServiceWatch {
  private readonly append;
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

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
  }

  /**
   * Reads the heartbeats, and again when the first of those alive would turn silent (no
   * poll while they beat); a service not beating is read again after silentMs (one that
   * starts and dies within that is still seen silent then).
   */
  private check(): void {
    if (this.stopped) return;
    const next = this.checkNow();
    this.timer = setTimeout(() => this.check(), Math.max(1, next - Date.now()));
  }

  /** When to read again (unix ms). */
  private checkNow(): number {
    const now = Date.now();
    let next = now + this.o.silentMs;
    for (const service of WATCHED) {
      let hb: { pid: number; ts: number } | undefined;
      try {
        hb = this.o.log.heartbeat(service);
      } catch (err) {
        this.o.logger.warn('cannot read heartbeats', { err });
        return now + this.o.silentMs / 4;
      }
      const v = serviceView(service, hb, now, this.o.silentMs);
      if (v.state === 'alive') next = Math.min(next, now + this.o.silentMs - v.age_ms! + 1);
      if (v.state !== 'silent') continue;
      const key = `${service}:${v.pid}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const [last] = this.o.log.query({ types: ['relay.service_lost'], subject: serviceSubject(service), newest: true, limit: 1 });
      if (last && isEvent(last, 'relay.service_lost') && last.data.pid === v.pid) continue;
      this.append({ type: 'relay.service_lost', source: 'relay', subject: serviceSubject(service), data: { service, pid: v.pid!, silent_ms: v.age_ms! } });
    }
    return next;
  }
}
