// The fence's decisions, pure: given what is known about one VIP group, the one next
// step that brings the world closer to "bound exactly while this node holds the lease".
// The shell carries out the step, updates the facts and asks again until the answer is
// to wait. Order matters and is encoded here: unbind before leaving the lock, hold the
// lease before binding, never bind without time left on the lease.
import { MIN_SESSION_TIMEOUT_S } from '../../shared/config/crosscheck.js';
import type { ZkState } from '../../shared/eventlog/catalogue.js';
import { ipv4ToNumber } from '../../shared/ipv4.js';
import { livenessTiming } from '../../shared/zookeeper/liveness.js';
import type { GiveWay } from './hearing.js';

/**
 * Kernel address lifetime (valid_lft/preferred_lft) of a bound VIP, in seconds: only a
 * backstop that clears addresses nobody renews. What fences is the kernel fence
 * (kernel-rules.ts): a VIP answers only while its nftables element lives, and that ends
 * KERNEL_SLACK_MS before the lease deadline.
 */
export const ADDRESS_LIFETIME_S = 1;
/** The kernel fence's element times out this long before the lease deadline (the kernel checks in jiffies, up to ~10 ms late). */
export const KERNEL_SLACK_MS = 20;
/** Addresses may be bound, or their fence renewed, only with at least this much lease time left. */
export const MIN_LEASE_LEFT_MS = 50;
/** The lease deadline (timeout minus margin, liveness.ts) must exceed MIN_LEASE_LEFT_MS right after a heartbeat. */
export const MIN_SESSION_TIMEOUT_MS = MIN_SESSION_TIMEOUT_S * 1000;

/** The session as the fence decides on it (an expired session is lost to it). */
export type SessionView = Exclude<ZkState, 'expired'>;

export interface LockHolder {
  epoch: number;
  node: string;
  ours: boolean;
}

export interface GroupFacts {
  /** The group's VRRP instance is MASTER and the vrrp service is alive. */
  master: boolean;
  /** Why it is not, in words (the shell knows: instance state, vrrp service gone, stopping). */
  notMasterWhy?: string;
  session: SessionView;
  /** Lease time left (ms) after the last answered heartbeat; 0 without a session. */
  leaseLeftMs: number;
  /** Our candidate in the lock, in the current session. */
  candidate: { epoch: number } | undefined;
  /** The lowest candidate in the lock as last read (undefined: not read yet). */
  lowest: LockHolder | undefined;
  /**
   * The addresses are on this node's interfaces, under the lease of this epoch; failsafe:
   * kept without a lease since the session was lost, on the peers' promises (failsafe.ts).
   */
  bound: { epoch: number; failsafe?: boolean } | undefined;
  /** Time left (ms) on every peer's failsafe promise for the group; 0 or absent: none. */
  failsafeLeftMs?: number;
  /** Which peers have not promised (for the reason of a release). */
  failsafeMissing?: string;
  /** Time left (ms) on a failsafe promise this node gave for the group: it binds nothing until then. */
  promisedMs?: number;
  /** We are the lowest candidate and the directors most of them hear want another to hold it (hearing.ts). */
  giveWay?: GiveWay;
}

export type FenceStep =
  | { kind: 'unbind'; reason: string }
  | { kind: 'leave'; reason: string }
  | { kind: 'join' }
  | { kind: 'bind'; epoch: number }
  /** Kept under failsafe, ZooKeeper back and our new candidate lowest: the lease again, the addresses untouched. */
  | { kind: 'adopt'; epoch: number }
  /** Unbind (if bound) and leave the lock, for the director a majority hears. */
  | { kind: 'give_way'; to: GiveWay }
  | { kind: 'wait'; why: string; holder?: LockHolder; retryMs?: number };

export function nextStep(f: GroupFacts): FenceStep {
  const notMaster = f.notMasterWhy ?? 'VRRP instance no longer MASTER';
  if (f.bound?.failsafe) return failsafeStep(f, notMaster);
  if (f.bound) {
    if (f.session === 'lost') return { kind: 'unbind', reason: 'ZooKeeper session lost (lease deadline passed)' };
    if (!f.master) return { kind: 'unbind', reason: notMaster };
    if (!f.candidate || f.candidate.epoch !== f.bound.epoch) return { kind: 'unbind', reason: 'our lock candidate is gone' };
    if (f.giveWay) return { kind: 'give_way', to: f.giveWay };
    return { kind: 'wait', why: 'bound under the lease' };
  }
  if (f.candidate && !f.master) return { kind: 'leave', reason: notMaster };
  if (f.candidate && f.giveWay) return { kind: 'give_way', to: f.giveWay };
  if (!f.master) return { kind: 'wait', why: 'not MASTER' };
  if (f.session !== 'connected') return { kind: 'wait', why: `ZooKeeper session ${f.session}` };
  if (!f.candidate) return { kind: 'join' };
  if (!f.lowest) return { kind: 'wait', why: 'lock not read yet' };
  if (!f.lowest.ours) return { kind: 'wait', why: `lease held by ${f.lowest.node} (epoch ${f.lowest.epoch})`, holder: f.lowest };
  if (f.leaseLeftMs < MIN_LEASE_LEFT_MS) return { kind: 'wait', why: `only ${Math.round(f.leaseLeftMs)} ms of lease left; waiting for a heartbeat` };
  if ((f.promisedMs ?? 0) > 0) return { kind: 'wait', why: `promised a failsafe holder not to bind for ${Math.ceil(f.promisedMs!)} ms more`, retryMs: Math.ceil(f.promisedMs!) };
  return { kind: 'bind', epoch: f.candidate.epoch };
}

/** Whether the peers' failsafe promises let a group stay bound now. */
export const failsafeHolds = (failsafeLeftMs: number | undefined): boolean => (failsafeLeftMs ?? 0) >= MIN_LEASE_LEFT_MS;

/**
 * A group kept under failsafe: it stays bound while the peers' promises last; once
 * ZooKeeper is back, our candidate joins, and the lease is taken again (adopt) without
 * touching the addresses, or, if another holds it, the group is unbound once the promises
 * run out (unless that holder leaves first).
 */
function failsafeStep(f: GroupFacts, notMaster: string): FenceStep {
  if (!f.master) return { kind: 'unbind', reason: notMaster };
  const connected = f.session === 'connected';
  if (connected && f.candidate && f.lowest?.ours && f.leaseLeftMs >= MIN_LEASE_LEFT_MS) return { kind: 'adopt', epoch: f.candidate.epoch };
  if (connected && f.lowest && !f.lowest.ours && f.candidate) {
    // The holder is one of the peers that promised to bind nothing while its promise runs:
    // the VIP may stay until then. A holder that is not MASTER (it reconnected first and was
    // named successor) leaves the lock at once, and the lease is taken again without a gap.
    const held = `the lease held by ${f.lowest.node} (epoch ${f.lowest.epoch})`;
    if (failsafeHolds(f.failsafeLeftMs)) return { kind: 'wait', why: `bound under failsafe, ${held}, which promised to bind nothing for now`, holder: f.lowest };
    return { kind: 'unbind', reason: `ZooKeeper back, ${held}` };
  }
  if (!failsafeHolds(f.failsafeLeftMs)) return { kind: 'unbind', reason: `failsafe ended: not every other node promised (${f.failsafeMissing ?? 'no promise'})` };
  if (connected && !f.candidate) return { kind: 'join' };
  return { kind: 'wait', why: connected ? 'bound under failsafe; taking the lease again' : 'bound under failsafe: no ZooKeeper, every other node promised' };
}

/** Whether bound addresses may get a fresh lifetime now. */
export const mayRenew = (leaseLeftMs: number): boolean => leaseLeftMs >= MIN_LEASE_LEFT_MS;

/**
 * The fence's heartbeat period for a session timeout: as rare as allows renewing the
 * kernel fence even when one heartbeat goes unanswered (each heartbeat wakes the fence
 * twice): two periods fit between the lease deadline right after an answer and
 * MIN_LEASE_LEFT_MS. Never more often than livenessTiming's default, never rarer than 500 ms.
 */
export function fenceHeartbeatMs(sessionTimeoutMs: number): number {
  const usual = livenessTiming(sessionTimeoutMs);
  const spare = (sessionTimeoutMs - usual.marginMs - MIN_LEASE_LEFT_MS) / 2;
  return Math.max(usual.heartbeatMs, Math.min(500, Math.floor(spare)));
}

export interface Contender {
  node: string;
  /** Its configured priority for the group's VRRP instance. */
  priority: number;
  address: string | undefined;
}

/**
 * Who takes a free lease first: among the nodes whose fence has a session (live), not
 * the holder leaving it (if any), the highest priority; ties go to the higher address, as in
 * VRRP, then the name. Every node computes the same answer from the same configuration.
 */
export function successorOf(contenders: readonly Contender[], live: ReadonlySet<string>, leaving: string | undefined): string | undefined {
  const address = (c: Contender) => (c.address === undefined ? -1 : ipv4ToNumber(c.address));
  return contenders
    .filter((c) => c.node !== leaving && live.has(c.node))
    .sort((a, b) => b.priority - a.priority || address(b) - address(a) || b.node.localeCompare(a.node))[0]?.node;
}
