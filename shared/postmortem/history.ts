// The cluster's history of its VIPs, from every node's events: who held each VIP group when
// (tenures), the moves between holders, the windows in which nobody held it and any in
// which two nodes did. A tenure runs from its vip.bound (the kernel's echo of the added
// addresses) to when its addresses were gone: its own vip.unbound (gone_at when found gone
// after a crash), or else what the next holder read of it in ZooKeeper (vip.bound's
// previous). Tenures of a group are ordered by epoch (ZooKeeper's total order), not by
// the nodes' clocks, whose skew is measured (clocks.ts) and corrected where it is clear.
import { isEvent, type EventOf, type StoredEvent } from '../eventlog/index.js';
import { correction, estimateClocks, uncertainty, type Clocks } from './clocks.js';

export interface TenureEnd {
  /** unbound: the holder removed its addresses; lifetime: the kernel dropped them (the holder stopped renewing: a crash). */
  how: 'unbound' | 'lifetime';
  reason: string;
  /** The node whose record says so (the holder itself, or the next holder). */
  by: string;
  /**
   * How late the real end may be after the recorded one (ms): 0 for an unbind (timed by the
   * kernel's echo); for a lifetime, the kernel removes an expired address at its next
   * check, which it may put off by up to a quarter of a second (ADDRCONF_TIMER_FUZZ).
   */
  lateUpToMs: number;
}

export const KERNEL_EXPIRY_LATE_MS = 250;

export interface Tenure {
  group: string;
  node: string;
  epoch: number;
  /** Corrected ms: when the addresses went on. */
  from: number;
  /** Corrected ms: when they were gone; undefined while held where the record ends. */
  to: number | undefined;
  end: TenureEnd | undefined;
  bound: StoredEvent;
  unbound: StoredEvent | undefined;
}

export interface Unowned {
  group: string;
  from: number;
  /** undefined: nobody held it where the record ends. */
  to: number | undefined;
  ms: number;
  before: Tenure | undefined;
  after: Tenure | undefined;
}

export interface Overlap {
  group: string;
  a: Tenure;
  b: Tenure;
  from: number;
  to: number;
  ms: number;
  /** The clocks' uncertainty between the two nodes: an overlap within it may be skew alone. */
  uncertaintyMs: number;
}

/** Where the recorded times contradict the epoch order (a later epoch bound before the earlier one was gone). */
export interface OrderConflict {
  group: string;
  earlier: Tenure;
  later: Tenure;
  ms: number;
}

export interface NodeRecord {
  node: string;
  first: number;
  last: number;
  events: number;
}

export interface History {
  nodes: NodeRecord[];
  clocks: Clocks;
  /** Corrected time of the first and last event of the whole record. */
  start: number;
  end: number;
  groups: string[];
  tenures: Map<string, Tenure[]>;
  unowned: Unowned[];
  overlaps: Overlap[];
  conflicts: OrderConflict[];
  /** The fence.lease_acquired of a tenure (by tenureKey), if recorded. */
  acquired: Map<string, StoredEvent>;
  /** What tells what happened to a node (its services, its ZooKeeper session, its VRRP states, what peers saw of it), by corrected time. */
  context: StoredEvent[];
  /** The event a (node, seq) names, if it was loaded. */
  event(node: string, seq: number): StoredEvent | undefined;
  /** Corrected time of an event, or of a time a node recorded. */
  time(node: string, ts: number): number;
}

const key = (node: string, seq: number) => `${node}#${seq}`;
export const tenureKey = (group: string, epoch: number, node: string) => `${group}|${epoch}|${node}`;

const CONTEXT_TYPES = new Set(['service.stopped', 'service.started', 'relay.service_lost', 'fence.zk_state', 'fence.lease_lost', 'vrrp.state_changed', 'relay.node_changed']);

/** Finds an event that was not loaded (a cause outside the window read), if the source can. */
export type Lookup = (node: string, seq: number) => StoredEvent | undefined;

/** The history of every VIP group in these events (any order, any mix of nodes). */
export function buildHistory(events: readonly StoredEvent[], lookup?: Lookup): History {
  const byKey = new Map<string, StoredEvent>();
  const perNode = new Map<string, NodeRecord>();
  const acquired = new Map<string, StoredEvent>();
  const context: StoredEvent[] = [];
  for (const e of events) {
    byKey.set(key(e.node, e.seq), e);
    if (isEvent(e, 'fence.lease_acquired')) acquired.set(tenureKey(e.data.group, e.data.epoch, e.node), e);
    if (CONTEXT_TYPES.has(e.type)) context.push(e);
    const r = perNode.get(e.node);
    if (!r) perNode.set(e.node, { node: e.node, first: e.ts, last: e.ts, events: 1 });
    else {
      r.first = Math.min(r.first, e.ts);
      r.last = Math.max(r.last, e.ts);
      r.events += 1;
    }
  }
  const nodes = [...perNode.values()].sort((a, b) => a.node.localeCompare(b.node));
  const clocks = estimateClocks(nodes.map((n) => n.node), events);
  const shift = new Map(nodes.map((n) => [n.node, correction(clocks, n.node)]));
  const time = [...shift.values()].every((x) => x === 0) ? (_node: string, ts: number) => ts : (node: string, ts: number) => ts - (shift.get(node) ?? 0);
  const start = Math.min(...nodes.map((n) => time(n.node, n.first)));
  const end = Math.max(...nodes.map((n) => time(n.node, n.last)));
  context.sort((a, b) => time(a.node, a.ts) - time(b.node, b.ts));

  // Tenures from each node's own record, in its order (seq).
  const sorted = [...events].filter((e) => isEvent(e, 'vip.bound', 'vip.unbound')).sort((a, b) => a.node.localeCompare(b.node) || a.seq - b.seq) as EventOf<'vip.bound' | 'vip.unbound'>[];
  const tenures = new Map<string, Tenure[]>();
  const open = new Map<string, Tenure>(); // node|group -> open tenure
  const add = (t: Tenure) => {
    const list = tenures.get(t.group) ?? [];
    list.push(t);
    tenures.set(t.group, list);
  };
  for (const e of sorted) {
    const k = `${e.node}|${e.data.group}`;
    const current = open.get(k);
    if (e.type === 'vip.bound') {
      if (current && current.epoch === e.data.epoch) continue; // bound again in the same tenure
      const boundAt = (e as EventOf<'vip.bound'>).data.bound_at ?? e.ts;
      const t: Tenure = { group: e.data.group, node: e.node, epoch: e.data.epoch, from: time(e.node, boundAt), to: undefined, end: undefined, bound: e, unbound: undefined };
      open.set(k, t);
      add(t);
    } else if (current && (e.data.epoch === current.epoch || e.data.epoch === 0)) {
      const d = (e as EventOf<'vip.unbound'>).data;
      current.to = time(e.node, d.gone_at ?? e.ts);
      // Records without `how` (older versions): a gone_at before the event was a lifetime found run out.
      const how = d.how ?? (d.gone_at !== undefined && d.gone_at < e.ts ? 'expired' : 'removed');
      current.end = { how: how === 'removed' ? 'unbound' : 'lifetime', reason: d.reason, by: e.node, lateUpToMs: how === 'expired' ? KERNEL_EXPIRY_LATE_MS : 0 };
      current.unbound = e;
      open.delete(k);
    }
  }
  // What a next holder read of its predecessor closes a tenure its own record left open.
  const all = [...tenures.values()].flat();
  for (const t of all) {
    const p = isEvent(t.bound, 'vip.bound') ? t.bound.data.previous : undefined;
    if (!p) continue;
    const before = all.find((x) => x.group === t.group && x.node === p.node && x.epoch === p.epoch);
    if (before && before.to === undefined) {
      before.to = time(p.node, p.gone_at);
      before.end = { how: p.how, reason: p.how === 'lifetime' ? `its addresses' lifetime ran out (${p.node} stopped renewing them)` : 'unbound', by: t.node, lateUpToMs: p.how === 'lifetime' ? KERNEL_EXPIRY_LATE_MS : 0 };
    }
  }

  const unowned: Unowned[] = [];
  const overlaps: Overlap[] = [];
  const conflicts: OrderConflict[] = [];
  for (const [group, list] of tenures) {
    list.sort((a, b) => a.epoch - b.epoch);
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      const prev = list[i - 1];
      if (prev && prev.to !== undefined && t.from > prev.to) unowned.push({ group, from: prev.to, to: t.from, ms: t.from - prev.to, before: prev, after: t });
      if (prev && prev.node !== t.node && (prev.to === undefined || t.from < prev.to)) conflicts.push({ group, earlier: prev, later: t, ms: (prev.to ?? end) - t.from });
      for (const o of list.slice(0, i)) {
        if (o.node === t.node) continue;
        const from = Math.max(o.from, t.from);
        const to = Math.min(o.to ?? end, t.to ?? end);
        if (to > from) overlaps.push({ group, a: o, b: t, from, to, ms: to - from, uncertaintyMs: uncertainty(clocks, o.node, t.node) });
      }
    }
    const last = list.at(-1);
    if (last?.to !== undefined && end > last.to) unowned.push({ group, from: last.to, to: undefined, ms: end - last.to, before: last, after: undefined });
  }
  unowned.sort((a, b) => a.from - b.from);
  return {
    nodes, clocks, start, end, groups: [...tenures.keys()].sort(), tenures, unowned, overlaps, conflicts, acquired, context,
    event: (node, seq) => byKey.get(key(node, seq)) ?? lookup?.(node, seq),
    time,
  };
}

/** The tenure of a group at t (corrected ms), if a node held it then. */
export function holderAt(h: History, group: string, t: number): Tenure | undefined {
  return (h.tenures.get(group) ?? []).filter((x) => x.from <= t && (x.to === undefined || t < x.to)).at(-1);
}

/** The window without a holder that t falls in, if any. */
export function unownedAt(h: History, group: string, t: number): Unowned | undefined {
  return h.unowned.find((u) => u.group === group && u.from <= t && (u.to === undefined || t < u.to));
}
