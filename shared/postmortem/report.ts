// What a postmortem says about a window of the cluster's history, as data (printed as
// text, JSON or HTML by the CLI): every change of holder with its why, the windows without
// a holder, any with two, and what else happened that an operator asks about.
import { isEvent, summarize, type StoredEvent } from '../eventlog/index.js';
import type { Clocks } from './clocks.js';
import { holderAt, unownedAt, type History, type NodeRecord, type Tenure, type TenureEnd } from './history.js';
import { whyHeld } from './why.js';

export interface Link {
  node: string;
  seq: number;
  /** Corrected ms. */
  at: number;
  type: string;
  summary: string;
}

export interface TenureView {
  node: string;
  epoch: number;
  from: number;
  to: number | null;
  end: TenureEnd | null;
}

export interface Move {
  at: number;
  group: string;
  from: TenureView | null;
  to: TenureView;
  /** ms nobody held the group before this holder (0 when the previous one's end is not known). */
  unownedMs: number;
  /** The new holder's chain: vip.bound, the lease, the VRRP transition and its causes. */
  why: Link[];
  /** How the previous tenure ended: its unbind and its causes. */
  previousEnd: Link[];
  /** What the record says happened to the previous holder around its end. */
  around: Link[];
}

export interface UnownedView {
  group: string;
  from: number;
  to: number | null;
  ms: number;
  before: TenureView | null;
  after: TenureView | null;
}

export interface OverlapView {
  group: string;
  a: TenureView;
  b: TenureView;
  from: number;
  to: number;
  ms: number;
  uncertaintyMs: number;
}

export interface GroupReport {
  group: string;
  /** Who held it when the window opened (null: nobody). */
  atStart: TenureView | null;
  tenures: TenureView[];
  moves: Move[];
  unowned: UnownedView[];
  overlaps: OverlapView[];
  /** Later epochs whose recorded bind precedes the earlier epoch's end (clock skew, or an overlap). */
  orderConflicts: { earlier: TenureView; later: TenureView; ms: number }[];
  totals: { unownedMs: number; longestUnownedMs: number; windows: number; moves: number };
}

/** An event of a report's sections: the same shape as a link of a chain. */
export type Item = Link;

export interface Alert extends Item {
  id: string;
  severity: string;
  kind: string;
  /** Every node whose relay raised it. */
  raisedBy: string[];
}

export interface Report {
  window: { from: number; to: number };
  nodes: NodeRecord[];
  clocks: Clocks;
  groups: GroupReport[];
  alerts: Alert[];
  notify: Item[];
  notes: Item[];
  services: Item[];
  realServers: Item[];
  quorum: Item[];
  vrrp: Item[];
  /** A VRRP master refused the lease: both sides believed they must hold the VIP, one did. */
  denied: Item[];
}

export interface ReportOptions {
  since?: number;
  until?: number;
  group?: string;
}

export const link = (h: History, e: StoredEvent): Link => ({ node: e.node, seq: e.seq, at: h.time(e.node, e.ts), type: e.type, summary: summarize(e) });

export const tenureView = (t: Tenure): TenureView => ({ node: t.node, epoch: t.epoch, from: t.from, to: t.to ?? null, end: t.end ?? null });

export function moveOf(h: History, t: Tenure): Move {
  const w = whyHeld(h, t);
  const prev = w.previous?.tenure;
  return {
    at: t.from,
    group: t.group,
    from: prev ? tenureView(prev) : null,
    to: tenureView(t),
    unownedMs: prev?.to !== undefined ? Math.max(0, t.from - prev.to) : 0,
    why: w.chain.map((e) => link(h, e)),
    previousEnd: (w.previous?.chain ?? []).map((e) => link(h, e)),
    around: (w.previous?.around ?? []).map((e) => link(h, e)),
  };
}

const ITEM_TYPES = {
  notify: ['relay.notify_ran'],
  notes: ['operator.note'],
  services: ['service.started', 'service.stopped', 'relay.service_lost'],
  realServers: ['health.changed'],
  quorum: ['ipvs.quorum_changed'],
  vrrp: ['vrrp.state_changed'],
  denied: ['fence.lease_denied'],
} as const;

export function buildReport(h: History, events: readonly StoredEvent[], o: ReportOptions = {}): Report {
  const from = o.since ?? h.start;
  const to = o.until ?? h.end;
  const inWindow = (at: number) => at >= from && at <= to;
  const groups = h.groups.filter((g) => o.group === undefined || g === o.group).map((group): GroupReport => {
    const all = h.tenures.get(group) ?? [];
    const moves = all.filter((t) => inWindow(t.from)).map((t) => moveOf(h, t));
    const unowned = h.unowned
      .filter((u) => u.group === group && u.from <= to && (u.to === undefined || u.to >= from))
      .map((u) => ({ group, from: u.from, to: u.to ?? null, ms: u.ms, before: u.before ? tenureView(u.before) : null, after: u.after ? tenureView(u.after) : null }));
    const overlaps = h.overlaps.filter((x) => x.group === group && x.from <= to && x.to >= from).map((x) => ({ group, a: tenureView(x.a), b: tenureView(x.b), from: x.from, to: x.to, ms: x.ms, uncertaintyMs: x.uncertaintyMs }));
    const orderConflicts = h.conflicts.filter((c) => c.group === group && inWindow(c.later.from)).map((c) => ({ earlier: tenureView(c.earlier), later: tenureView(c.later), ms: c.ms }));
    const start = holderAt(h, group, from);
    // Unowned time inside the window only.
    const clipped = unowned.map((u) => Math.max(0, Math.min(u.to ?? h.end, to) - Math.max(u.from, from)));
    return {
      group, atStart: start ? tenureView(start) : null,
      tenures: all.filter((t) => t.from <= to && (t.to === undefined || t.to >= from)).map(tenureView),
      moves, unowned, overlaps, orderConflicts,
      totals: { unownedMs: clipped.reduce((a, b) => a + b, 0), longestUnownedMs: clipped.reduce((a, b) => Math.max(a, b), 0), windows: unowned.length, moves: moves.length },
    };
  });

  const picked = events.filter((e) => inWindow(h.time(e.node, e.ts))).sort((a, b) => h.time(a.node, a.ts) - h.time(b.node, b.ts) || a.node.localeCompare(b.node) || a.seq - b.seq);
  const item = (e: StoredEvent): Item => link(h, e);
  const of = (types: readonly string[]) => picked.filter((e) => types.includes(e.type)).map(item);
  const alerts = new Map<string, Alert>();
  for (const e of picked) {
    if (!isEvent(e, 'relay.alert')) continue;
    const seen = alerts.get(e.data.id);
    if (seen) {
      if (!seen.raisedBy.includes(e.node)) seen.raisedBy.push(e.node);
      continue;
    }
    alerts.set(e.data.id, { ...item(e), id: e.data.id, severity: e.data.severity, kind: e.data.kind, summary: e.data.summary, raisedBy: [e.node] });
  }
  return {
    window: { from, to },
    nodes: h.nodes,
    clocks: h.clocks,
    groups,
    alerts: [...alerts.values()],
    notify: of(ITEM_TYPES.notify),
    notes: of(ITEM_TYPES.notes),
    services: of(ITEM_TYPES.services),
    realServers: of(ITEM_TYPES.realServers),
    quorum: of(ITEM_TYPES.quorum),
    vrrp: of(ITEM_TYPES.vrrp),
    denied: of(ITEM_TYPES.denied),
  };
}

/** Who held a group at t, and why; or since when and why nobody did. */
export interface AtAnswer {
  group: string;
  at: number;
  holder: (Move & { heldMs: number }) | null;
  unowned: UnownedView | null;
}

export function answerAt(h: History, group: string, at: number): AtAnswer {
  const t = holderAt(h, group, at);
  if (t) return { group, at, holder: { ...moveOf(h, t), heldMs: at - t.from }, unowned: null };
  const u = unownedAt(h, group, at);
  return {
    group, at, holder: null,
    unowned: u ? { group, from: u.from, to: u.to ?? null, ms: u.ms, before: u.before ? tenureView(u.before) : null, after: u.after ? tenureView(u.after) : null } : null,
  };
}
