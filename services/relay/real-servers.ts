// The real servers' health as the notify scripts see it: each check's last state, and the
// server's by shared/quorum.ts's one rule (down when one check is down, up when all are up).
// Unlike the IPVS table, a check without a result stays unknown here: no notify script
// runs for the state keepalived assumes at start.
import type { HealthState } from '../../shared/eventlog/index.js';
import { serverHealth } from '../../shared/quorum.js';

export class RealServerStates {
  private readonly checks = new Map<string, Map<string, HealthState>>();

  /** Applies one check's new state; returns the real server's state before and after. */
  apply(subject: string, check: string, to: HealthState): { before: HealthState; after: HealthState } {
    const checks = this.checks.get(subject) ?? new Map<string, HealthState>();
    this.checks.set(subject, checks);
    const before = serverHealth(checks.values());
    checks.set(check, to);
    return { before, after: serverHealth(checks.values()) };
  }
}
