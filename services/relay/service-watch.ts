// Notices a service of this node that stopped beating without recording its stop
// (SIGKILL, a hang, a crash): a clean stop sets its heartbeat to 0 and records
// service.stopped, so silence alone means something went wrong. Recorded once per
// process (pid), also across restarts of the relay.
import { isEvent, serviceSubject, type EventLog } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { recorder } from '../../shared/service.js';

const WATCHED = ['vrrp', 'fence', 'health', 'ipvs'] as const;
const CHECK_MS = 250;

export class ServiceWatch {
  private readonly append;
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { log: EventLog; logger: Logger; silentMs: number }) {
    this.append = recorder(o.log, o.logger);
  }

  start(): void {
    this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    for (const service of WATCHED) {
      let hb: { pid: number; ts: number } | undefined;
      try {
        hb = this.o.log.heartbeat(service);
      } catch (err) {
        this.o.logger.warn('cannot read heartbeats', { err });
        return;
      }
      if (!hb || hb.ts === 0 || now - hb.ts <= this.o.silentMs) continue;
      const key = `${service}:${hb.pid}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const [last] = this.o.log.query({ types: ['relay.service_lost'], subject: serviceSubject(service), newest: true, limit: 1 });
      if (last && isEvent(last, 'relay.service_lost') && last.data.pid === hb.pid) continue;
      this.append({ type: 'relay.service_lost', source: 'relay', subject: serviceSubject(service), data: { service, pid: hb.pid, silent_ms: now - hb.ts } });
    }
  }
}
