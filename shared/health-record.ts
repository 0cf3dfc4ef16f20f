// What the log says of health and quorum now: the last health.changed (or track.changed)
// of each check, and the quorum each virtual server last had. The health service resumes
// from it after a restart, `vigil health` prints it, and the IPVS and VRRP services keep
// one QuorumTracker each (the table; track_virtual_server).
import type { VigilConfig } from './config/index.js';
import { isEvent, type EventLog, type HealthState, type StoredEvent } from './eventlog/index.js';
import { SUBJECTS, virtualServerSubject } from './eventlog/subjects.js';
import { checkKey, quorumStep, realServerChecks, withCheck, type CheckState, type Health, type QuorumMove, type QuorumState } from './quorum.js';

export interface LastChange {
  to: HealthState;
  reason: string;
  weight: number | undefined;
  ts: number;
  seq: number;
}

const PAGE = 256;
/** The check name of a track script (its events carry none). */
export const TRACK_CHECK = 'script';

/** The key of a track script's check. */
export const trackCheckKey = (subject: string) => checkKey(subject, TRACK_CHECK);

/** The check key an event speaks about, and what it says. */
export function changeOf(e: Pick<StoredEvent, 'type' | 'subject' | 'data' | 'ts' | 'seq'>): { key: string; change: LastChange } | undefined {
  if (isEvent(e, 'health.changed')) {
    const d = e.data;
    return { key: checkKey(e.subject, d.check), change: { to: d.to, reason: d.reason, weight: d.weight, ts: e.ts, seq: e.seq } };
  }
  if (isEvent(e, 'track.changed')) {
    const d = e.data;
    return { key: trackCheckKey(e.subject), change: { to: d.to === 'ok' ? 'up' : d.to === 'fail' ? 'down' : 'unknown', reason: d.reason, weight: undefined, ts: e.ts, seq: e.seq } };
  }
  return undefined;
}

/** The last change of each of these checks that has one (newest pages of each subject). */
export function lastChanges(log: EventLog, checks: readonly { subject: string; key: string }[]): Map<string, LastChange> {
  const out = new Map<string, LastChange>();
  const bySubject = new Map<string, Set<string>>();
  for (const s of checks) {
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

  /** The last health.changed of every real-server check in the configuration. */
  load(log: EventLog, config: VigilConfig): void {
    const checks = realServerChecks(config);
    const last = lastChanges(log, checks);
    for (const c of checks) {
      const change = last.get(c.key);
      if (change) withCheck(this.checks, c.subject, c.name, { to: change.to, weight: change.weight });
    }
  }

  /** Takes a health.changed of a real server into account; false for any other event. */
  apply(e: Pick<StoredEvent, 'type' | 'subject' | 'data'>): boolean {
    if (!isEvent(e, 'health.changed') || SUBJECTS.realServer.idOf(e.subject) === undefined) return false;
    withCheck(this.checks, e.subject, e.data.check, { to: e.data.to, weight: e.data.weight });
    return true;
  }
}

/** A virtual server's quorum as the last ipvs.quorum_changed up to a seq recorded it (undefined: never changed). */
export function recordedQuorum(log: EventLog, vs: string, upTo: number): QuorumState | undefined {
  const [last] = log.query({ types: ['ipvs.quorum_changed'], subject: virtualServerSubject(vs), toSeq: upTo, newest: true, limit: 1 });
  if (!last || !isEvent(last, 'ipvs.quorum_changed')) return undefined;
  return last.data.state === 'lost' ? 'lost' : 'up';
}

/**
 * The quorum of some virtual servers, followed through the log: each starts where the
 * IPVS service last recorded it (else up), then moves with the health of its real servers.
 */
export class QuorumTracker {
  readonly servers = new RealServerHealth();
  private readonly quorum = new Map<string, QuorumState>();

  constructor(private readonly config: VigilConfig, private readonly names: readonly string[]) {}

  get health(): Health {
    return this.servers.health;
  }

  get states(): ReadonlyMap<string, QuorumState> {
    return this.quorum;
  }

  state(name: string): QuorumState {
    return this.quorum.get(name) ?? 'up';
  }

  /** Every check's last result and every recorded quorum, up to a seq. */
  load(log: EventLog, upTo: number): void {
    this.servers.load(log, this.config);
    for (const name of this.names) this.quorum.set(name, recordedQuorum(log, name, upTo) ?? 'up');
  }

  /** Takes an event into account; true if it changed a real server's health. */
  apply(e: Pick<StoredEvent, 'type' | 'subject' | 'data'>): boolean {
    return this.servers.apply(e);
  }

  /** Moves each quorum with the health as it is now; returns those that changed. */
  advance(): QuorumMove[] {
    const moves: QuorumMove[] = [];
    for (const name of this.names) {
      const vs = this.config.virtual_servers[name];
      if (!vs) continue;
      const { state, move } = quorumStep(name, vs, this.health, this.state(name));
      this.quorum.set(name, state);
      if (move) moves.push(move);
    }
    return moves;
  }

  /** Takes the quorums someone else worked out (the IPVS table's, with the changes it recorded). */
  accept(states: ReadonlyMap<string, QuorumState>): void {
    for (const [name, q] of states) this.quorum.set(name, q);
  }
}
