// A real server is up when every one of its checks is up and down as soon as one is down
// (keepalived's rule for several checkers); health.changed speaks per check.
export type ServerState = 'up' | 'down' | 'unknown';

export class RealServerStates {
  private readonly checks = new Map<string, Map<string, ServerState>>();

  /** Applies one check's new state; returns the real server's state before and after. */
  apply(subject: string, check: string, to: ServerState): { before: ServerState; after: ServerState } {
    const checks = this.checks.get(subject) ?? new Map<string, ServerState>();
    this.checks.set(subject, checks);
    const before = aggregate(checks);
    checks.set(check, to);
    return { before, after: aggregate(checks) };
  }
}

function aggregate(checks: ReadonlyMap<string, ServerState>): ServerState {
  if (checks.size === 0) return 'unknown';
  let allUp = true;
  for (const s of checks.values()) {
    if (s === 'down') return 'down';
    if (s !== 'up') allUp = false;
  }
  return allUp ? 'up' : 'unknown';
}
