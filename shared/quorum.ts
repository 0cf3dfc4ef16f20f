// keepalived's real-server health and virtual_server quorum, from the health of each check:
// - a real server is up when all its checks are up, down as soon as one is down
//   (serverHealth: the one rule, used by the IPVS table, track_virtual_server and the
//   relay's notify_up/notify_down);
// - before its first result a check counts as up, or as down with alpha (keepalived's
//   assumption at start);
// - a MISC_CHECK with misc_dynamic sets the weight (health.changed weight);
// - quorum: when the weight of the up servers falls below quorum - hysteresis the quorum
//   is lost, and it is regained at quorum + hysteresis.
// Pure.
import { realServerTarget, startsDown, type CheckConfig, type RealServerConfig, type VigilConfig, type VirtualServerConfig } from './config/index.js';
import type { HealthState } from './eventlog/catalogue.js';
import { checkName, realServerSubject } from './eventlog/subjects.js';

export interface CheckState {
  to: HealthState;
  weight?: number | undefined;
}

/** The state of each check, by real server subject ("rs:web/10.0.0.29:80") and check name ("HTTP_GET#0"). */
export type Health = ReadonlyMap<string, ReadonlyMap<string, CheckState>>;

export type QuorumState = 'up' | 'lost';

/** One check of one real server, as the configuration has it and as events name it. */
export interface RealServerCheck {
  vsName: string;
  vs: VirtualServerConfig;
  rs: RealServerConfig;
  /** Index of the real server in its virtual server, and of the check in the real server. */
  rsIndex: number;
  checkIndex: number;
  check: CheckConfig;
  /** ip:port */
  target: string;
  /** rs:<virtual server>/<target>: the subject of its health.changed events. */
  subject: string;
  /** "HTTP_GET#0": the check field of its health.changed events. */
  name: string;
  /** Unique among the checks of a node. */
  key: string;
}

/** The key of one check among all of a node's (a real server's check or a track script). */
export const checkKey = (subject: string, check: string) => `${subject} ${check}`;

/** Every check of every real server in the configuration (each node checks them all, as keepalived does). */
export function realServerChecks(config: VigilConfig): RealServerCheck[] {
  const out: RealServerCheck[] = [];
  for (const [vsName, vs] of Object.entries(config.virtual_servers)) {
    vs.real_servers.forEach((rs, rsIndex) => {
      const target = realServerTarget(vs, rs);
      const subject = realServerSubject(vsName, target);
      rs.checks.forEach((check, checkIndex) => {
        const name = checkName(check.type, checkIndex);
        out.push({ vsName, vs, rs, rsIndex, checkIndex, check, target, subject, name, key: checkKey(subject, name) });
      });
    });
  }
  return out;
}

/** A real server's health from its checks' states: down if one is down, up if all are up, else unknown. */
export function serverHealth(checks: Iterable<HealthState>): HealthState {
  let any = false;
  let allUp = true;
  for (const s of checks) {
    any = true;
    if (s === 'down') return 'down';
    if (s !== 'up') allUp = false;
  }
  return any && allUp ? 'up' : 'unknown';
}

/** Whether a real server is up (checks without a result count as keepalived assumes at start), and its weight. */
export function realServerState(vsName: string, vs: VirtualServerConfig, rs: RealServerConfig, health: Health): { up: boolean; weight: number } {
  const checks = health.get(realServerSubject(vsName, realServerTarget(vs, rs)));
  let weight = rs.weight;
  const states = rs.checks.map((ch, j) => {
    const s = checks?.get(checkName(ch.type, j));
    if (s?.weight !== undefined) weight = s.weight;
    return s && s.to !== 'unknown' ? s.to : startsDown(vs, ch) ? 'down' : 'up';
  });
  return { up: serverHealth(states) !== 'down', weight };
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

/** A virtual server's quorum that changed, with the figures behind it. */
export interface QuorumMove {
  vs: string;
  state: 'lost' | 'regained';
  upWeight: number;
  quorum: number;
  hysteresis: number;
}

/** A virtual server's quorum now, from the one before and its servers' health; move when it changed. */
export function quorumStep(vsName: string, vs: VirtualServerConfig, health: Health, before: QuorumState): { state: QuorumState; move: QuorumMove | undefined } {
  const weight = upWeight(vsName, vs, health);
  const state = nextQuorum(before, weight, vs.quorum, vs.hysteresis);
  if (state === before) return { state, move: undefined };
  return { state, move: { vs: vsName, state: state === 'lost' ? 'lost' : 'regained', upWeight: weight, quorum: vs.quorum, hysteresis: vs.hysteresis } };
}

/** The health map with one check's new state (health.changed). */
export function withCheck(health: Map<string, Map<string, CheckState>>, subject: string, check: string, state: CheckState): void {
  const checks = health.get(subject) ?? new Map<string, CheckState>();
  checks.set(check, state);
  health.set(subject, checks);
}
