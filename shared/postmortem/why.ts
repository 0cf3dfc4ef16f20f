// Why a node held a VIP: the chain of causes its record gives (vip.bound <- lease acquired
// <- the VRRP transition and its reason <- what changed the priority or state ...), and
// how the tenure before it ended, across nodes through vip.bound's previous.
import { isEvent, type StoredEvent } from '../eventlog/index.js';
import { tenureKey, type History, type Tenure } from './history.js';

const CHAIN_LIMIT = 16;

/** The event, then its cause, its cause's cause ... within its node's record. */
export function causeChain(h: History, e: StoredEvent): StoredEvent[] {
  const out = [e];
  let at = e;
  while (at.causation !== null && out.length < CHAIN_LIMIT) {
    const cause = h.event(at.node, at.causation);
    if (!cause || out.includes(cause)) break;
    out.push(cause);
    at = cause;
  }
  return out;
}


export interface Why {
  tenure: Tenure;
  /** vip.bound, the lease acquired, and their causes. */
  chain: StoredEvent[];
  previous: { tenure: Tenure; chain: StoredEvent[]; around: StoredEvent[] } | undefined;
}

/** The index of the first context event at or after corrected time t. */
function firstAt(h: History, t: number): number {
  let lo = 0;
  let hi = h.context.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = h.context[mid]!;
    if (h.time(e.node, e.ts) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function whyHeld(h: History, t: Tenure): Why {
  const acquired = h.acquired.get(tenureKey(t.group, t.epoch, t.node));
  const chain = [t.bound, ...(acquired ? causeChain(h, acquired) : causeChain(h, t.bound).slice(1))];
  const list = h.tenures.get(t.group) ?? [];
  const prevTenure = list[list.indexOf(t) - 1];
  if (!prevTenure) return { tenure: t, chain, previous: undefined };
  const prevChain = prevTenure.unbound ? causeChain(h, prevTenure.unbound) : [];
  const endAt = prevTenure.to ?? t.from;
  const around: StoredEvent[] = [];
  for (let i = firstAt(h, endAt - 3000); i < h.context.length; i++) {
    const e = h.context[i]!;
    if (h.time(e.node, e.ts) > t.from) break;
    const aboutIt = isEvent(e, 'relay.node_changed') ? e.data.node === prevTenure.node && e.node !== prevTenure.node : e.node === prevTenure.node && !prevChain.includes(e);
    if (aboutIt) around.push(e);
  }
  around.splice(0, Math.max(0, around.length - 12));
  return { tenure: t, chain, previous: { tenure: prevTenure, chain: prevChain, around } };
}
