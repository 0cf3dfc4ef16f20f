// The current state of every check, as the log says: the last health.changed (or
// track.changed) of each. The service resumes from it after a restart; `vigil health`
// prints it.
import type { VigilConfig } from '../../shared/config/index.js';
import type { EventData, EventLog, StoredEvent } from '../../shared/eventlog/index.js';
import { withCheck, type CheckState, type Health } from '../../shared/quorum.js';
import { planChecks, type CheckSpec } from './plan.js';

export interface LastChange {
  to: 'up' | 'down' | 'unknown';
  reason: string;
  weight: number | undefined;
  ts: number;
  seq: number;
}

const PAGE = 256;

/** The check key an event speaks about, and what it says. */
export function changeOf(e: Pick<StoredEvent, 'type' | 'subject' | 'data' | 'ts' | 'seq'>): { key: string; change: LastChange } | undefined {
  const d = e.data as Record<string, unknown>;
  const common = { reason: String(d.reason ?? ''), weight: typeof d.weight === 'number' ? d.weight : undefined, ts: e.ts, seq: e.seq };
  if (e.type === 'health.changed' && typeof d.check === 'string') {
    const to = d.to === 'up' || d.to === 'down' ? d.to : 'unknown';
    return { key: `${e.subject} ${d.check}`, change: { to, ...common } };
  }
  if (e.type === 'track.changed') {
    return { key: `${e.subject} script`, change: { to: d.to === 'ok' ? 'up' : d.to === 'fail' ? 'down' : 'unknown', ...common } };
  }
  return undefined;
}

/** The last change of each planned check that has one (newest pages of each subject). */
export function lastChanges(log: EventLog, specs: readonly CheckSpec[]): Map<string, LastChange> {
  const out = new Map<string, LastChange>();
  const bySubject = new Map<string, Set<string>>();
  for (const s of specs) {
    const keys = bySubject.get(s.subject) ?? new Set<string>();
    keys.add(s.key);
    bySubject.set(s.subject, keys);
  }
  for (const [subject, keys] of bySubject) {
    let before: number | undefined;
    let wanted = keys.size;
    while (wanted > 0) {
      const page = log.query({ subject, types: ['health.changed', 'track.changed'], newest: true, limit: PAGE, ...(before !== undefined ? { toSeq: before - 1 } : {}) });
      for (let i = page.length - 1; i >= 0 && wanted > 0; i--) {
        const c = changeOf(page[i]!);
        if (c && keys.has(c.key) && !out.has(c.key)) {
          out.set(c.key, c.change);
          wanted--;
        }
      }
      if (page.length < PAGE) break;
      before = page[0]!.seq;
    }
  }
  return out;
}

/** The real servers' checks as the IPVS and VRRP services need them: loaded from the log, then fed its new events. */
export class RealServerHealth {
  private readonly checks = new Map<string, Map<string, CheckState>>();

  get health(): Health {
    return this.checks;
  }

  /** The last health.changed of every real-server check of this node. */
  load(log: EventLog, config: VigilConfig, node: string): void {
    const specs = planChecks(config, node).filter((s) => s.role === 'real_server');
    const last = lastChanges(log, specs);
    for (const s of specs) {
      const c = last.get(s.key);
      if (c) withCheck(this.checks, s.subject, s.check, { to: c.to, weight: c.weight });
    }
  }

  /** Takes a health.changed of a real server into account; false for any other event. */
  apply(e: Pick<StoredEvent, 'type' | 'subject' | 'data'>): boolean {
    if (e.type !== 'health.changed' || !e.subject.startsWith('rs:')) return false;
    const d = e.data as EventData<'health.changed'>;
    withCheck(this.checks, e.subject, d.check, { to: d.to, weight: d.weight });
    return true;
  }
}
