// What a node's own log says about it now, for vigil status: its services' heartbeats,
// each VRRP instance's state and effective priority with the deductions, its tracked
// conditions, its leases, the health summary, the relay's backlog, the log's size. Each
// fact is the newest event of its kind (indexed reads: any log size).
import { statSync } from 'node:fs';
import { instancesForNode, type VigilConfig } from '../../shared/config/index.js';
import { isEvent, nodeSubject, trackSubject, vipGroupSubject, vrrpSubject, type EventLog, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { SERVICE_NAMES, serviceView, type ServiceView } from '../../shared/service.js';
import { FENCE_TRACKER, planInstance, trackedInterface, trackedVirtualServer } from '../../services/vrrp/spec.js';
import { CURSOR } from '../../services/relay/shell.js';

export interface TrackerView {
  /** As configured: a script's name, "if:<interface>", "vs:<virtual server>" or "fence". */
  name: string;
  weight: number;
  state: 'ok' | 'fail' | 'unknown';
  reason: string | null;
}

export interface InstanceView {
  name: string;
  state: string;
  since: number | null;
  reason: string | null;
  detail: string | null;
  base_priority: number;
  priority: number;
  /** Tracked conditions with a weight that fail now: what takes the priority below its base. */
  deductions: TrackerView[];
  trackers: TrackerView[];
}

export interface GroupView {
  group: string;
  instance: string;
  /** Bound here (the last vip.* event is vip.bound). */
  bound: boolean;
  epoch: number | null;
  since: number | null;
  /** A refusal of the lease that stands: this node is a candidate that another node's lease keeps out. */
  denied: { holder: string; holder_epoch: number; ts: number } | null;
  /** The newest takeover here: from whom, and how long nobody had the addresses. */
  last_takeover: { ts: number; from: string | null; unowned_ms: number | null } | null;
}

export interface NodeView {
  node: string;
  services: ServiceView[];
  zk: { state: string; ts: number; detail: string | null } | null;
  instances: InstanceView[];
  groups: GroupView[];
  health: { total: number; up: number; down: number; unknown: number; ts: number } | null;
  relay: { backlog: number | null; last_failure: { ts: number; error: string } | null };
  log: { path: string; bytes: number; events: number };
}

const newest = (log: EventLog, types: EventType[], subject?: string): StoredEvent | undefined =>
  log.query({ types, ...(subject !== undefined ? { subject } : {}), newest: true, limit: 1 })[0];

function fileBytes(path: string): number {
  let n = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // no WAL file right now
    }
  }
  return n;
}

/** The state of one tracked condition from the log (script and interface: track.changed; fence: fence.zk_state). */
function trackerState(log: EventLog, tracker: string, fenceOk: boolean | undefined): { state: TrackerView['state']; reason: string | null } {
  if (tracker === FENCE_TRACKER) return fenceOk === undefined ? { state: 'unknown', reason: null } : { state: fenceOk ? 'ok' : 'fail', reason: fenceOk ? null : 'the fence has no ZooKeeper session' };
  if (trackedVirtualServer(tracker) !== undefined) return { state: 'unknown', reason: 'quorum as the vrrp service counts it (see vigil health)' };
  const name = trackedInterface(tracker) !== undefined ? tracker : tracker.replace(/^script:/, '');
  const e = newest(log, ['track.changed'], trackSubject(name));
  if (!e || !isEvent(e, 'track.changed')) return { state: 'unknown', reason: null };
  return { state: e.data.to, reason: e.data.reason };
}

export function readNodeView(log: EventLog, config: VigilConfig, node: string, now: number, withinMs: number): NodeView {
  const services = SERVICE_NAMES.map((s) => serviceView(s, log.heartbeat(s), now, withinMs));
  const zkEvent = newest(log, ['fence.zk_state'], nodeSubject(node));
  const zk = zkEvent && isEvent(zkEvent, 'fence.zk_state') ? { state: zkEvent.data.state, ts: zkEvent.ts, detail: zkEvent.data.detail ?? null } : null;
  const fenceOk = zk ? zk.state === 'connected' || zk.state === 'suspended' : undefined;

  const instances = instancesForNode(config, node).map((vi): InstanceView => {
    const plan = planInstance(config, vi, '0.0.0.0');
    const trackers = Object.entries(plan.spec.trackers).map(([name, t]): TrackerView => ({ name: name.replace(/^script:/, ''), weight: t.weight, ...trackerState(log, name, fenceOk) }));
    const deductions = trackers.filter((t) => t.state === 'fail' && t.weight !== 0);
    const e = newest(log, ['vrrp.state_changed'], vrrpSubject(vi.name));
    const changed = e && isEvent(e, 'vrrp.state_changed') ? e : undefined;
    const p = newest(log, ['vrrp.priority_changed', 'vrrp.state_changed'], vrrpSubject(vi.name));
    const priority = p && isEvent(p, 'vrrp.priority_changed') ? p.data.to : changed ? changed.data.priority : vi.priority;
    return {
      name: vi.name, state: changed?.data.to ?? 'INIT', since: changed?.ts ?? null, reason: changed?.data.reason ?? null, detail: changed?.data.detail ?? null,
      base_priority: vi.priority, priority, deductions, trackers,
    };
  });

  const groups = Object.entries(config.vip_groups).map(([group, g]): GroupView => {
    const subject = vipGroupSubject(group);
    const vip = newest(log, ['vip.bound', 'vip.unbound'], subject);
    const bound = vip !== undefined && isEvent(vip, 'vip.bound');
    const acquired = newest(log, ['fence.lease_acquired'], subject);
    const denied = newest(log, ['fence.lease_denied'], subject);
    const takeover = newest(log, ['vip.bound'], subject);
    const candidate = newest(log, ['fence.lease_candidate'], subject);
    const left = candidate && isEvent(candidate, 'fence.lease_candidate') && candidate.data.action === 'left' ? candidate.seq : 0;
    // A refusal stands until this node holds the lease or leaves the lock (VRRP no longer MASTER).
    const deniedNow = denied && isEvent(denied, 'fence.lease_denied') && Math.max(acquired?.seq ?? 0, left) < denied.seq && !bound;
    return {
      group, instance: g.instance, bound, epoch: vip && (isEvent(vip, 'vip.bound') || isEvent(vip, 'vip.unbound')) ? vip.data.epoch : null, since: vip?.ts ?? null,
      denied: deniedNow && isEvent(denied, 'fence.lease_denied') ? { holder: denied.data.holder, holder_epoch: denied.data.holder_epoch, ts: denied.ts } : null,
      last_takeover: takeover && isEvent(takeover, 'vip.bound')
        ? { ts: takeover.ts, from: takeover.data.previous?.node ?? null, unowned_ms: takeover.data.previous ? Math.max(0, (takeover.data.bound_at ?? takeover.ts) - takeover.data.previous.gone_at) : null }
        : null,
    };
  });

  const h = newest(log, ['health.summary'], nodeSubject(node));
  const health = h && isEvent(h, 'health.summary') ? { total: h.data.total, up: h.data.up, down: h.data.down, unknown: h.data.unknown, ts: h.ts } : null;
  const lastSeq = log.lastSeq();
  const failure = newest(log, ['relay.delivery_failed']);
  const cursor = config.nats ? log.getCursor(CURSOR) : undefined;
  const relay = {
    backlog: cursor === undefined ? null : Math.max(0, lastSeq - cursor),
    last_failure: failure && isEvent(failure, 'relay.delivery_failed') && cursor !== undefined && cursor < failure.seq ? { ts: failure.ts, error: failure.data.error } : null,
  };
  return { node, services, zk, instances, groups, health, relay, log: { path: log.path, bytes: fileBytes(log.path), events: lastSeq } };
}

