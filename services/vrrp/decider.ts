// The VRRP state machine of one instance (RFC 5798 section 6.4; RFC 3768 for v2), with
// keepalived's additions: FAULT, tracked conditions with weights, preempt_delay,
// down_timer_adverts. Pure: decide(command, state) -> events, evolve(state, event) ->
// state. Time comes in with every command; the shell arms one timer for nextDeadline().
import type { VrrpStateName, VrrpTransitionReason as TransitionReason } from '../../shared/eventlog/catalogue.js';
import { ipv4ToNumber } from '../../shared/ipv4.js';

export type { VrrpStateName, TransitionReason };

export interface TrackerConfig {
  /** keepalived: > 0 adds while OK, < 0 subtracts while failing, 0 = failing means FAULT. */
  weight: number;
  /** State before the first result (keepalived init_fail = false). The fence tracker starts false. */
  initiallyOk: boolean;
}

export interface VrrpInstanceSpec {
  name: string;
  version: 2 | 3;
  vrid: number;
  /** Configured priority, 1..255 (255 = address owner). */
  priority: number;
  advertIntervalMs: number;
  preempt: boolean;
  preemptDelayMs: number;
  downTimerAdverts: number;
  /** This node's address on the link: the tie-break when priorities are equal. */
  primaryAddress: string;
  trackers: Record<string, TrackerConfig>;
  /**
   * A member of a vrrp_sync_group: its master-down timer only makes it want MASTER
   * (wants_master); the group promotes it when every member wants it (services/vrrp/sync.ts).
   */
  synced?: boolean;
}

export interface VrrpState {
  spec: VrrpInstanceSpec;
  state: VrrpStateName;
  trackerOk: Record<string, boolean>;
  masterAdverIntervalMs: number;
  masterDownAt: number | undefined;
  /** Why the master-down timer will fire, for the event that says so. */
  masterDownReason: 'master_down_timer' | 'priority_zero_advert' | 'preempted' | 'lease_free';
  /** When the master's last advert was heard (a BACKUP's view). */
  heardAt: number | undefined;
  /** What the fence said when it found the lease free (masterDownReason lease_free). */
  leaseFree: string | undefined;
  advertAt: number | undefined;
  preemptAllowedAt: number;
  master: string | undefined;
  /** A synced member whose master-down timer fired: ready to become MASTER with its group, and why. */
  wantsMaster: { reason: TransitionReason; detail: string } | undefined;
}

export type VrrpCommand =
  | { type: 'start'; now: number }
  | { type: 'advert'; now: number; from: string; priority: number; intervalMs: number }
  | { type: 'tick'; now: number }
  | { type: 'track'; now: number; name: string; ok: boolean; detail?: string }
  | { type: 'stop'; now: number }
  /** From the sync group: become MASTER with the others (a BACKUP member), or BACKUP with them (a MASTER member). */
  | { type: 'promote'; now: number; detail: string }
  /**
   * From the fence: the lease is free (its holder left the lock, or nobody held it) and
   * this node is first in line. A
   * BACKUP takes over once the master's adverts are overdue (one interval and a quarter
   * after the last), instead of after the whole master-down interval; at once if the
   * master released (priority 0) instead of after the skew time.
   */
  | { type: 'lease_free'; now: number; detail: string }
  /**
   * From the fence: the lease is held by a node whose configured priority is below this
   * one's. A preempting BACKUP above it takes over at once, as it would at that node's next
   * advert.
   */
  | { type: 'lease_outranked'; now: number; holderPriority: number; detail: string }
  | { type: 'demote'; now: number; detail: string };

export type VrrpEvent =
  | { type: 'started'; at: number }
  | { type: 'state_changed'; at: number; from: VrrpStateName; to: VrrpStateName; reason: TransitionReason; detail: string; priority: number; master?: string; masterAdverIntervalMs?: number }
  | { type: 'advert_sent'; at: number; priority: number }
  | { type: 'wants_master'; at: number; reason: TransitionReason; detail: string }
  | { type: 'lease_free_heard'; at: number; detail: string }
  | { type: 'master_heard'; at: number; from: string; priority: number; intervalMs: number }
  | { type: 'lower_priority_ignored'; at: number; from: string; priority: number }
  | { type: 'tracker_changed'; name: string; ok: boolean }
  | { type: 'priority_changed'; from: number; to: number; reason: string }
  | { type: 'higher_priority_seen'; peer: string; peerPriority: number; ownPriority: number };

export function initialState(spec: VrrpInstanceSpec): VrrpState {
  const trackerOk: Record<string, boolean> = {};
  for (const [name, t] of Object.entries(spec.trackers)) trackerOk[name] = t.initiallyOk;
  return {
    spec, state: 'INIT', trackerOk, masterAdverIntervalMs: spec.advertIntervalMs, masterDownAt: undefined,
    masterDownReason: 'master_down_timer', heardAt: undefined, leaseFree: undefined, advertAt: undefined, preemptAllowedAt: 0, master: undefined, wantsMaster: undefined,
  };
}

/** keepalived: weights move priority within 1..254; an address owner (255) ignores them. */
export function effectivePriority(s: Pick<VrrpState, 'spec' | 'trackerOk'>): number {
  if (s.spec.priority === 255) return 255;
  let p = s.spec.priority;
  // for-in rather than Object.entries: no arrays made at every advert
  for (const name in s.spec.trackers) {
    const t = s.spec.trackers[name]!;
    const ok = s.trackerOk[name];
    if (t.weight > 0 && ok) p += t.weight;
    if (t.weight < 0 && !ok) p += t.weight;
  }
  return Math.min(254, Math.max(1, p));
}

/** The trackers with weight 0 that are failing: any one of them means FAULT. */
export function faults(s: Pick<VrrpState, 'spec' | 'trackerOk'>): string[] {
  return Object.entries(s.spec.trackers).filter(([name, t]) => t.weight === 0 && !s.trackerOk[name]).map(([name]) => name);
}

export function skewTimeMs(s: VrrpState): number {
  const p = effectivePriority(s);
  // v3: scaled by the master's interval; v2: a fraction of one second.
  return s.spec.version === 3 ? ((256 - p) * s.masterAdverIntervalMs) / 256 : ((256 - p) * 1000) / 256;
}

/**
 * RFC 5798 takes the master's interval from its adverts. vigil never waits less than its
 * own interval would make it wait: an advert claiming a tiny interval (forged, or a
 * misconfigured peer) cannot then drive this node to flip faster than its configuration
 * allows; a peer with a longer interval is still waited for in full.
 */
export function masterDownIntervalMs(s: VrrpState): number {
  return s.spec.downTimerAdverts * Math.max(s.masterAdverIntervalMs, s.spec.advertIntervalMs) + skewTimeMs(s);
}

/** The master's adverts count as overdue this long after the last one: its interval and a quarter. */
export function advertOverdueMs(s: VrrpState): number {
  return 1.25 * Math.max(s.masterAdverIntervalMs, s.spec.advertIntervalMs);
}

/**
 * Whether more adverts the same as one just heard (at `at`) would, while nothing else
 * happens, only push this BACKUP's master-down timer back: its master heard at a priority
 * it does not preempt. The shell then leaves such adverts to the socket (counted and
 * timed there) and applies the last of them before anything else. Not for a sync group's
 * member, nor while preempt_delay holds a preemption back (that ends at a time, not at
 * an advert).
 */
export function absorbsAdvert(s: VrrpState, heard: { at: number; from: string; priority: number }): boolean {
  return s.state === 'BACKUP' && !s.spec.synced && s.heardAt === heard.at && s.master === heard.from && heard.priority > 0 &&
    s.masterDownReason === 'master_down_timer' && (heard.priority >= effectivePriority(s) || !s.spec.preempt);
}

/** How far apart the slots of a master's adverts are at least (see nextAdvertAt). */
export const ADVERT_SLOT_MS = 10;
/** At most this many slots per interval: fewer, larger bursts (see nextAdvertAt). */
export const ADVERT_SLOTS_MAX = 4;

/** How many slots an interval has: as many as fit ADVERT_SLOT_MS apart, at most ADVERT_SLOTS_MAX. */
export const advertSlots = (intervalMs: number): number => Math.min(ADVERT_SLOTS_MAX, Math.max(1, Math.floor(intervalMs / ADVERT_SLOT_MS)));

/**
 * When a master sends its next advert after one sent at `at`: on a fixed schedule, the
 * multiples of its interval shifted by one of advertSlots(interval) slots (its VRID picks
 * which), the first after `at`. So a process's masters with one interval send in at most
 * that many bursts per interval, each read by a backup in a wake-up or two (every wake-up
 * costs a process more than the datagrams it reads: 100 instances at 100 ms on their own
 * phases woke a backup ~250 times a second, in 10 slots ~210, in 4 ~90), and a burst stays
 * far below a receiving socket's buffer (at most 64 of 255 VRIDs, ~64 KiB of 212). The
 * schedule does not drift with the timer's lateness. Two adverts are exactly one interval
 * apart, or less after one out of turn (becoming MASTER, answering a lower priority) or a
 * late timer: never more, so a backup's view of the master (three intervals) is as the
 * RFC's timer's.
 */
export function nextAdvertAt(at: number, intervalMs: number, vrid: number): number {
  const slots = advertSlots(intervalMs);
  const offset = (vrid % slots) * (intervalMs / slots);
  const next = (Math.floor((at - offset) / intervalMs) + 1) * intervalMs + offset;
  return next > at ? next : next + intervalMs; // (`at` a hair before a slot by rounding)
}

/** When the shell must call back with a tick (undefined: no timer). */
export function nextDeadline(s: VrrpState): number | undefined {
  if (s.state === 'MASTER') return s.advertAt;
  if (s.state === 'BACKUP') return s.masterDownAt;
  return undefined;
}

function becomeUp(s: VrrpState, now: number, reason: TransitionReason, detail: string): VrrpEvent[] {
  const priority = effectivePriority(s);
  if (priority === 255) {
    return [
      { type: 'state_changed', at: now, from: s.state, to: 'MASTER', reason: 'address_owner', detail: `${detail}; priority 255 owns the addresses`, priority, master: s.spec.primaryAddress },
      { type: 'advert_sent', at: now, priority },
    ];
  }
  return [{ type: 'state_changed', at: now, from: s.state, to: 'BACKUP', reason, detail, priority }];
}

function leave(s: VrrpState, now: number, to: VrrpStateName, reason: TransitionReason, detail: string): VrrpEvent[] {
  const out: VrrpEvent[] = [];
  // A master that steps down says so with priority 0, so that a backup takes over after
  // its skew time instead of a whole master-down interval.
  if (s.state === 'MASTER') out.push({ type: 'advert_sent', at: now, priority: 0 });
  out.push({ type: 'state_changed', at: now, from: s.state, to, reason, detail, priority: effectivePriority(s) });
  return out;
}

/** Is the sender's address higher than ours (the tie-break of equal priorities)? */
function higherAddress(a: string, b: string): boolean {
  return ipv4ToNumber(a) > ipv4ToNumber(b);
}

/** A BACKUP's master-down timer fired (or its cause holds now): MASTER, or ready for it in a sync group. */
function masterDown(s: VrrpState, now: number): VrrpEvent[] {
  const own = effectivePriority(s);
  const detail = s.masterDownReason === 'priority_zero_advert' ? `master ${s.master ?? '?'} released (priority 0)`
    : s.masterDownReason === 'preempted' ? `preempting ${s.master ?? '?'} with priority ${own}`
    : s.masterDownReason === 'lease_free' ? `${s.leaseFree ?? 'the lease holder left'}; ${s.heardAt === undefined ? 'no advert heard' : `last advert ${Math.round(now - s.heardAt)} ms ago`}`
    : `no advert for ${Math.round(masterDownIntervalMs(s))} ms${s.master ? ` (last master ${s.master})` : ''}`;
  if (s.spec.synced) return [{ type: 'wants_master', at: now, reason: s.masterDownReason, detail }];
  return toMaster(s, now, s.masterDownReason, detail);
}

/** A BACKUP becomes MASTER and advertises at once. */
function toMaster(s: VrrpState, now: number, reason: TransitionReason, detail: string): VrrpEvent[] {
  const own = effectivePriority(s);
  return [
    { type: 'state_changed', at: now, from: 'BACKUP', to: 'MASTER', reason, detail, priority: own, master: s.spec.primaryAddress },
    { type: 'advert_sent', at: now, priority: own },
  ];
}

export function decide(c: VrrpCommand, s: VrrpState): VrrpEvent[] {
  const own = effectivePriority(s);
  switch (c.type) {
    case 'start': {
      if (s.state !== 'INIT') return [];
      const started: VrrpEvent = { type: 'started', at: c.now };
      const f = faults(s);
      if (f.length > 0) return [started, { type: 'state_changed', at: c.now, from: 'INIT', to: 'FAULT', reason: 'fault', detail: `failing: ${f.join(', ')}`, priority: own }];
      return [started, ...becomeUp(s, c.now, 'startup', 'started')];
    }

    case 'tick': {
      if (s.state === 'BACKUP' && s.masterDownAt !== undefined && c.now >= s.masterDownAt) return masterDown(s, c.now);
      if (s.state === 'MASTER' && s.advertAt !== undefined && c.now >= s.advertAt) return [{ type: 'advert_sent', at: c.now, priority: own }];
      return [];
    }

    case 'advert': {
      if (s.state === 'BACKUP') {
        if (c.priority === 0) return [{ type: 'master_heard', at: c.now, from: c.from, priority: 0, intervalMs: c.intervalMs }];
        const preempting = s.spec.preempt && c.now >= s.preemptAllowedAt;
        if (!preempting || c.priority >= own) return [{ type: 'master_heard', at: c.now, from: c.from, priority: c.priority, intervalMs: c.intervalMs }];
        if (s.masterDownReason === 'preempted' && s.master === c.from) return [];
        const ignored: VrrpEvent = { type: 'lower_priority_ignored', at: c.now, from: c.from, priority: c.priority };
        // RFC 5798 discards the advert and preempts when the master-down timer fires; that
        // wait teaches nothing more once a lower-priority master is heard, so vigil preempts
        // at once (a sync group's member still waits, for its group). On the wire this is a
        // higher-priority router coming up, which every peer handles.
        return s.spec.synced ? [ignored] : [ignored, ...masterDown(evolve(s, ignored), c.now)];
      }
      if (s.state === 'MASTER') {
        if (c.priority === 0) return [{ type: 'advert_sent', at: c.now, priority: own }];
        if (c.priority > own || (c.priority === own && higherAddress(c.from, s.spec.primaryAddress))) {
          const why = c.priority > own ? `priority ${c.priority} > ${own}` : `equal priority ${own}, higher address`;
          return [
            { type: 'higher_priority_seen', peer: c.from, peerPriority: c.priority, ownPriority: own },
            { type: 'state_changed', at: c.now, from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert', detail: `advert from ${c.from}: ${why}`, priority: own, master: c.from, masterAdverIntervalMs: c.intervalMs },
          ];
        }
        // keepalived: a lower-priority master is answered at once, forcing a new election.
        return [{ type: 'advert_sent', at: c.now, priority: own }];
      }
      return [];
    }

    case 'track': {
      if (!(c.name in s.spec.trackers) || s.trackerOk[c.name] === c.ok) return [];
      const changed: VrrpEvent = { type: 'tracker_changed', name: c.name, ok: c.ok };
      const after = { spec: s.spec, trackerOk: { ...s.trackerOk, [c.name]: c.ok } };
      const newPriority = effectivePriority(after);
      const why = `${c.name} ${c.ok ? 'recovered' : 'failed'}${c.detail ? `: ${c.detail}` : ''}`;
      const out: VrrpEvent[] = [changed];
      if (newPriority !== own) out.push({ type: 'priority_changed', from: own, to: newPriority, reason: why });
      const faultedNow = faults(after).length > 0;
      if (s.state === 'STOPPED' || s.state === 'INIT') return out;
      if (faultedNow && s.state !== 'FAULT') return [...out, ...leave({ ...s, ...after }, c.now, 'FAULT', 'fault', why)];
      if (!faultedNow && s.state === 'FAULT') return [...out, ...becomeUp({ ...s, ...after }, c.now, 'fault_cleared', why)];
      // A master announces a new priority at once, so a backup can preempt it now.
      if (s.state === 'MASTER' && newPriority !== own) out.push({ type: 'advert_sent', at: c.now, priority: newPriority });
      return out;
    }

    case 'stop':
      if (s.state === 'STOPPED') return [];
      return leave(s, c.now, 'STOPPED', 'shutdown', 'stopped');

    case 'promote': {
      if (s.state !== 'BACKUP') return [];
      const own = s.wantsMaster;
      const reason = own ? own.reason : 'sync_group';
      const detail = own ? `${own.detail}; ${c.detail}` : c.detail;
      return toMaster(s, c.now, reason, detail);
    }

    case 'demote':
      if (s.state !== 'MASTER') return [];
      return leave(s, c.now, 'BACKUP', 'sync_group', c.detail);

    case 'lease_outranked': {
      if (s.state !== 'BACKUP' || s.spec.synced || !s.spec.preempt || c.now < s.preemptAllowedAt || own <= c.holderPriority) return [];
      return toMaster(s, c.now, 'preempted', `${c.detail}; preempting with priority ${own}`);
    }

    case 'lease_free': {
      if (s.state !== 'BACKUP') return [];
      const heard: VrrpEvent = { type: 'lease_free_heard', at: c.now, detail: c.detail };
      const after = evolve(s, heard);
      if (after.masterDownAt === s.masterDownAt) return [];
      return after.masterDownAt !== undefined && after.masterDownAt <= c.now ? [heard, ...masterDown(after, c.now)] : [heard];
    }
  }
}

export function evolve(s: VrrpState, e: VrrpEvent): VrrpState {
  switch (e.type) {
    case 'started':
      return { ...s, preemptAllowedAt: e.at + s.spec.preemptDelayMs };
    case 'state_changed': {
      const next: VrrpState = { ...s, state: e.to, advertAt: undefined, masterDownAt: undefined, masterDownReason: 'master_down_timer', wantsMaster: undefined, leaseFree: undefined };
      if (e.to === 'MASTER') next.master = s.spec.primaryAddress;
      if (e.to === 'BACKUP') {
        next.master = e.master;
        next.heardAt = e.master !== undefined ? e.at : undefined;
        next.masterAdverIntervalMs = e.masterAdverIntervalMs ?? s.spec.advertIntervalMs;
        next.masterDownAt = e.at + masterDownIntervalMs(next);
      }
      if (e.to === 'FAULT' || e.to === 'STOPPED') next.master = undefined;
      return next;
    }
    case 'advert_sent':
      return s.state === 'MASTER' ? { ...s, advertAt: nextAdvertAt(e.at, s.spec.advertIntervalMs, s.spec.vrid) } : s;
    case 'wants_master':
      // keepalived re-arms the timer while the group waits for its other members.
      return { ...s, wantsMaster: { reason: e.reason, detail: e.detail }, masterDownAt: e.at + masterDownIntervalMs(s) };
    case 'master_heard': {
      const next: VrrpState = { ...s, master: e.from, masterAdverIntervalMs: e.intervalMs, wantsMaster: undefined, heardAt: e.at, leaseFree: undefined };
      if (e.priority === 0) return { ...next, masterDownAt: e.at + skewTimeMs(next), masterDownReason: 'priority_zero_advert' };
      return { ...next, masterDownAt: e.at + masterDownIntervalMs(next), masterDownReason: 'master_down_timer' };
    }
    case 'lease_free_heard': {
      // A master that released (priority 0) is not waited for: the skew time only orders the
      // backups, and the fence has named this one. Adverts still coming (the old master's vrrp
      // alive) cancel this: master_heard re-arms the whole interval.
      const released = s.masterDownReason === 'priority_zero_advert';
      const overdue = released ? e.at : Math.max(e.at, (s.heardAt ?? -Infinity) + advertOverdueMs(s));
      if (s.masterDownAt !== undefined && s.masterDownAt <= overdue) return s;
      return { ...s, masterDownAt: overdue, masterDownReason: 'lease_free', leaseFree: e.detail };
    }
    case 'lower_priority_ignored':
      return { ...s, master: e.from, masterDownReason: 'preempted' };
    case 'tracker_changed':
      return { ...s, trackerOk: { ...s.trackerOk, [e.name]: e.ok } };
    case 'priority_changed':
    case 'higher_priority_seen':
      return s;
  }
}

/** Runs a command: the events it decides and the state after them. */
export function step(s: VrrpState, c: VrrpCommand): { events: VrrpEvent[]; state: VrrpState } {
  const events = decide(c, s);
  return { events, state: events.reduce(evolve, s) };
}
