// How far apart the nodes' clocks were, measured from the record itself: every relay
// records each change of a VIP group's lease holder as ZooKeeper told it (a watch fires on
// every node within milliseconds), on its own node's clock. The same change seen by two
// nodes at different times is their clock difference, plus the watch latency's jitter.
import { isEvent, type StoredEvent } from '../eventlog/index.js';

export interface ClockEstimate {
  /** ms this node's clock was ahead of the reference's (median over shared observations). */
  offsetMs: number;
  /** Median absolute deviation of those observations around offsetMs (the estimate's spread). */
  spreadMs: number;
  /** Lease changes both nodes' relays recorded. */
  observations: number;
  /** Whether the timeline moved this node's times by -offsetMs (a skew clearly above the spread). */
  corrected: boolean;
}

export interface Clocks {
  /** The node whose clock the others are compared with (the one with the most observations). */
  reference: string | undefined;
  nodes: Record<string, ClockEstimate>;
}

/** A skew smaller than this is left alone: it is within what a watch's delivery varies by on a LAN. */
export const SKEW_CORRECTED_ABOVE_MS = 20;
/** Fewer shared observations than this measure nothing reliable (one late relay is not a clock). */
export const MIN_OBSERVATIONS = 3;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The clocks of the nodes relative to one of them, from their relays' relay.lease_observed events. */
export function estimateClocks(nodes: readonly string[], events: Iterable<StoredEvent>): Clocks {
  const seen = new Map<string, Map<string, number>>(); // change -> node -> ts
  for (const e of events) {
    if (!isEvent(e, 'relay.lease_observed') || e.data.seen === 'session_start') continue;
    const key = `${e.data.group}|${JSON.stringify(e.data.holder)}|${JSON.stringify(e.data.previous)}`;
    let m = seen.get(key);
    if (!m) seen.set(key, (m = new Map()));
    if (!m.has(e.node)) m.set(e.node, e.ts);
  }
  const count = (n: string) => [...seen.values()].filter((m) => m.has(n)).length;
  const ranked = [...nodes].sort((a, b) => count(b) - count(a) || a.localeCompare(b));
  const reference = ranked[0];
  const out: Record<string, ClockEstimate> = {};
  for (const n of nodes) {
    const diffs = reference === undefined ? [] : [...seen.values()].filter((m) => m.has(n) && m.has(reference)).map((m) => m.get(n)! - m.get(reference)!);
    if (n === reference || diffs.length === 0) {
      out[n] = { offsetMs: 0, spreadMs: 0, observations: n === reference ? count(n) : 0, corrected: false };
      continue;
    }
    const offset = median(diffs);
    const spread = median(diffs.map((d) => Math.abs(d - offset)));
    out[n] = { offsetMs: Math.round(offset), spreadMs: Math.round(spread), observations: diffs.length, corrected: diffs.length >= MIN_OBSERVATIONS && Math.abs(offset) > Math.max(SKEW_CORRECTED_ABOVE_MS, 3 * spread) };
  }
  return { reference, nodes: out };
}

/** What to subtract from a node's times to put them on the reference's clock. */
export function correction(clocks: Clocks, node: string): number {
  const c = clocks.nodes[node];
  return c?.corrected ? c.offsetMs : 0;
}

/** The uncertainty (ms) of comparing two nodes' times after correction. */
export function uncertainty(clocks: Clocks, a: string, b: string): number {
  if (a === b) return 0;
  return (clocks.nodes[a]?.spreadMs ?? 0) + (clocks.nodes[b]?.spreadMs ?? 0);
}
