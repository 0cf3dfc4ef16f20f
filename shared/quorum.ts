// keepalived's real-server health and virtual_server quorum, from the health of each check:
// - a real server is up when all its checks are up; before its first result a check
//   counts as up, or as down with alpha (keepalived's assumption at start);
// - a MISC_CHECK with misc_dynamic sets the weight (health.changed weight);
// - quorum: when the weight of the up servers falls below quorum - hysteresis the quorum
//   is lost, and it is regained at quorum + hysteresis.
// Used by the IPVS service (the table) and the VRRP service (track_virtual_server). Pure.
import { realServerTarget, startsDown, type RealServerConfig, type VirtualServerConfig } from './config/index.js';
import { checkName, realServerSubject } from './eventlog/subjects.js';

export interface CheckState {
  to: 'up' | 'down' | 'unknown';
  weight?: number | undefined;
}

/** The state of each check, by real server subject ("rs:web/10.0.0.29:80") and check name ("HTTP_GET#0"). */
export type Health = ReadonlyMap<string, ReadonlyMap<string, CheckState>>;

export type QuorumState = 'up' | 'lost';

/** Whether a real server is up, and its weight. */
export function realServerState(vsName: string, vs: VirtualServerConfig, rs: RealServerConfig, health: Health): { up: boolean; weight: number } {
  const checks = health.get(realServerSubject(vsName, realServerTarget(vs, rs)));
  let up = true;
  let weight = rs.weight;
  rs.checks.forEach((ch, j) => {
    const s = checks?.get(checkName(ch.type, j));
    const known = s && s.to !== 'unknown' ? s.to : startsDown(vs, ch) ? 'down' : 'up';
    if (known !== 'up') up = false;
    if (s?.weight !== undefined) weight = s.weight;
  });
  return { up, weight };
}

/** The summed weight of the real servers that are up. */
export function upWeight(vsName: string, vs: VirtualServerConfig, health: Health): number {
  let sum = 0;
  for (const rs of vs.real_servers) {
    const { up, weight } = realServerState(vsName, vs, rs, health);
    if (up) sum += weight;
  }
  return sum;
}

export function nextQuorum(prev: QuorumState, weight: number, quorum: number, hysteresis: number): QuorumState {
  if (prev === 'up') return weight < quorum - hysteresis ? 'lost' : 'up';
  return weight >= quorum + hysteresis ? 'up' : 'lost';
}

/** The health map with one check's new state (health.changed). */
export function withCheck(health: Map<string, Map<string, CheckState>>, subject: string, check: string, state: CheckState): void {
  const checks = health.get(subject) ?? new Map<string, CheckState>();
  checks.set(check, state);
  health.set(subject, checks);
}
