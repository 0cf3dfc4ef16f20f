// Alert rules over the node's log: pure, with the clock passed in. apply() takes each
// event in log order and returns the alerts it raises; due() raises the alerts that are
// owed to the passing of time (a VIP unowned for too long). The same events always give
// the same alerts with the same ids, so a restarted relay (which replays the log up to its
// cursor without output) or a second node raising the same alert is harmless: NATS drops
// a second copy by id.
//
// Cluster-wide observations (a node leaving ZooKeeper, a lease without a holder) are seen
// by every node's relay; only the "speaker" (the first live node in name order, named in
// the observation itself) raises an alert for them, so that subscribers get one.
import { SUBJECTS, typed, type AlertSeverity, type EventData, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { RealServerStates } from './real-servers.js';

export interface AlertDraft {
  id: string;
  kind: string;
  severity: AlertSeverity;
  summary: string;
  /** Ids of the events behind the alert, oldest first. */
  events: string[];
  details: Record<string, string | number | boolean | null>;
  /** seq of the event that raised it (its causation in the log). */
  cause: number;
}

export interface AlertRulesOptions {
  node: string;
  vipUnownedMs: number;
  /** A refusal of the lease that lasts longer than this is a split brain averted, not a handover. */
  leaseDeniedMs: number;
  /** Addresses of each VIP group, for summaries ("10.0.0.31/24"). */
  groupAddresses: ReadonlyMap<string, readonly string[]>;
}

interface Ref {
  id: string;
  seq: number;
  ts: number;
}

interface Holder {
  node: string;
  epoch: number;
}

interface GroupView {
  holder: Holder | null;
  /** The last holder whose lease ended, and the observation that said so. */
  ended?: Holder & { at: Ref };
  /** While nobody holds the lease: since when, and whether this node speaks for it. */
  vacant?: { at: Ref; speaker: boolean; alerted: boolean; last: Holder | null };
  acquired?: { epoch: number; previous: Holder | undefined; at: Ref };
  /** This node is MASTER and waits for the lease: since when (an alert once it lasts). */
  denied?: { data: EventData<'fence.lease_denied'>; at: Ref; alerted: boolean };
  /** This node let the group go because it lost ZooKeeper: unowned as far as it can know. */
  released?: { epoch: number; at: Ref; alerted: boolean };
}

const ref = (e: StoredEvent): Ref => ({ id: e.id, seq: e.seq, ts: e.ts });
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const lastLine = (text: string) => text.trimEnd().split('\n').pop()?.slice(0, 200) ?? '';

export class AlertRules {
  private readonly groups = new Map<string, GroupView>();
  private readonly instances = new Map<string, { data: EventData<'vrrp.state_changed'>; at: Ref }>();
  private readonly servers = new RealServerStates();
  /** Nodes (fence:<node>) and relays (relay:<node>) seen leaving ZooKeeper and not back yet. */
  private readonly gone = new Set<string>();
  /** Since when this node's fence has lost ZooKeeper (not a start or stop of the fence); alerted at once. */
  private zkLost: Ref | undefined;

  constructor(private readonly o: AlertRulesOptions) {}

  /** The event types whose history the rules need after a restart (replayed with apply, output dropped). */
  static readonly STATE_TYPES: readonly EventType[] = [
    'vrrp.state_changed', 'fence.lease_acquired', 'fence.lease_denied', 'fence.lease_candidate', 'fence.zk_state', 'vip.bound', 'vip.unbound',
    'relay.lease_observed', 'relay.node_changed', 'health.changed', 'relay.alert',
  ];

  apply(e: StoredEvent): AlertDraft[] {
    const t = typed(e);
    switch (t?.type) {
      case 'vrrp.state_changed': {
        const d = t.data;
        this.instances.set(d.instance, { data: d, at: ref(e) });
        return [];
      }
      case 'fence.lease_acquired': {
        const d = t.data;
        const g = this.group(d.group);
        g.acquired = { epoch: d.epoch, previous: d.previous, at: ref(e) };
        g.denied = undefined;
        return [];
      }
      case 'fence.lease_candidate': {
        const d = t.data;
        if (d.action === 'left') this.group(d.group).denied = undefined;
        return [];
      }
      case 'vip.bound':
        return this.bound(e, t.data);
      case 'vip.unbound': {
        const d = t.data;
        if (this.zkLost) this.group(d.group).released = { epoch: d.epoch, at: ref(e), alerted: false };
        return [];
      }
      case 'fence.zk_state':
        return this.zookeeper(e, t.data);
      case 'fence.failsafe': {
        const d = t.data;
        const node = this.o.node;
        const without = d.without_coordinator_ms === undefined ? '' : ` after ${seconds(d.without_coordinator_ms)} without ZooKeeper`;
        const details = { group: d.group, epoch: d.epoch, peers: d.peers.join(','), without_coordinator_ms: d.without_coordinator_ms ?? null };
        if (d.state === 'holding') {
          return [this.alert(e, 'failsafe_holding', 'critical', `${d.group}:${e.id}`,
            `the cluster runs without its coordinator: ${node} lost ZooKeeper and keeps VIP group ${d.group} under failsafe, because ${d.peers.join(', ')} promised they cannot reach ZooKeeper either and hold none of it; no VIP can move until ZooKeeper is back`,
            [e.id], details)];
        }
        return d.state === 'ended'
          ? [this.alert(e, 'failsafe_ended', 'info', `${d.group}:${e.id}`, `ZooKeeper is back: ${node} holds VIP group ${d.group} under a lease again${without}, without unbinding it`, [e.id], details)]
          : [this.alert(e, 'failsafe_released', 'critical', `${d.group}:${e.id}`, `${node} released VIP group ${d.group}${without}: ${d.detail}`, [e.id], details)];
      }
      case 'fence.gave_way': {
        const d = t.data;
        const node = this.o.node;
        return [this.alert(e, 'lease_given_way', 'warning', `${d.group}:${d.epoch}`,
          `${node} gave the lease of VIP group ${d.group} (epoch ${d.epoch}) to ${d.to}: ${d.heard_by.join(', ')} (${d.heard_by.length} of ${d.directors} directors) hear ${d.to}'s VRRP adverts and not ${node}'s, so ${node} is cut off from them; it holds the VIP again only when VRRP gives it back`,
          [e.id], { group: d.group, epoch: d.epoch, to: d.to, heard_by: d.heard_by.join(',') })];
      }
      case 'fence.lease_denied': {
        // Raised by due() only if it lasts: most refusals are a preempting master waiting a
        // few ms for the old one to let go.
        const d = t.data;
        const g = this.group(d.group);
        if (g.denied?.data.epoch !== d.epoch) g.denied = { data: d, at: ref(e), alerted: false };
        return [];
      }
      case 'relay.lease_observed':
        return this.observed(e, t.data);
      case 'relay.node_changed': {
        const d = t.data;
        // A join is news only after a leave (a node or relay starting for the first time is not "back").
        const key = `${d.service ?? 'fence'}:${d.node}`;
        const wasGone = this.gone.has(key);
        if (d.change === 'left') this.gone.add(key);
        else this.gone.delete(key);
        if (d.speaker !== this.o.node || d.node === this.o.node) return [];
        if (d.change === 'joined' && !wasGone) return [];
        if (d.service === 'relay') {
          return d.change === 'left'
            ? [this.alert(e, 'relay_gone', 'critical', `${d.node}:${e.id}`, `the relay of ${d.node} is gone (its ZooKeeper session ended: killed, crashed, or cut off): ${d.node}'s events and alerts are not delivered, its notify scripts do not run, and failures of its services go unreported`, [e.id], { node: d.node })]
            : [this.alert(e, 'relay_back', 'info', `${d.node}:${e.id}`, `the relay of ${d.node} is back`, [e.id], { node: d.node })];
        }
        return d.change === 'left'
          ? [this.alert(e, 'node_gone', 'critical', `${d.node}:${e.id}`, `node ${d.node} left ZooKeeper: its fence service's session ended (crash, network cut or stop); it can hold no VIP`, [e.id], { node: d.node })]
          : [this.alert(e, 'node_back', 'info', `${d.node}:${e.id}`, `node ${d.node} joined ZooKeeper again`, [e.id], { node: d.node })];
      }
      case 'relay.service_lost': {
        const d = t.data;
        return [this.alert(e, 'service_gone', 'critical', `${d.service}:${d.pid}`,
          `the ${d.service} service of ${this.o.node} (pid ${d.pid}) stopped beating ${seconds(d.silent_ms)} ago without recording a stop (killed, hung or crashed)`,
          [e.id], { service: d.service, pid: d.pid, silent_ms: d.silent_ms })];
      }
      case 'service.stopped': {
        const d = t.data;
        if (d.reason !== 'error') return [];
        return [this.alert(e, 'service_gone', 'critical', `${d.service}:${d.pid}`, `the ${d.service} service of ${this.o.node} (pid ${d.pid}) stopped with an error: ${d.error ?? 'unknown'}`, [e.id], { service: d.service, pid: d.pid })];
      }
      case 'health.changed':
        return this.health(e, t.data);
      case 'ipvs.quorum_changed': {
        const d = t.data;
        const vs = SUBJECTS.virtualServer.idOf(e.subject) ?? e.subject;
        return d.state === 'lost'
          ? [this.alert(e, 'quorum_lost', 'critical', `${vs}:${e.id}`,
              `virtual server ${vs} (${d.service}) lost its quorum: up weight ${d.up_weight} < quorum ${d.quorum}${d.sorry_server ? `; the sorry server ${d.sorry_server} takes the traffic` : '; no sorry server'}`,
              [e.id], { virtual_server: vs, service: d.service, up_weight: d.up_weight, quorum: d.quorum, sorry_server: d.sorry_server ?? null })]
          : [this.alert(e, 'quorum_regained', 'info', `${vs}:${e.id}`, `virtual server ${vs} (${d.service}) has its quorum again: up weight ${d.up_weight} >= ${d.quorum} + ${d.hysteresis}`, [e.id], { virtual_server: vs, service: d.service, up_weight: d.up_weight, quorum: d.quorum })];
      }
      case 'relay.alert': {
        // Replayed after a restart: an alert owed to time (an unowned VIP, a lasting refusal) is not raised twice.
        const d = t.data;
        const group = d.details?.group;
        const g = typeof group === 'string' ? this.groups.get(group) : undefined;
        const owed = d.kind === 'vip_unowned' ? [g?.vacant, g?.released] : d.kind === 'lease_denied' ? [g?.denied] : [];
        for (const o of owed) if (o) o.alerted = true;
        return [];
      }
      case 'ipvs.availability': {
        const d = t.data;
        return d.available
          ? [this.alert(e, 'ipvs_available', 'info', `${this.o.node}:${e.id}`, `the IPVS table of ${this.o.node} can be read and changed again`, [e.id], { node: this.o.node })]
          : [this.alert(e, 'ipvs_unavailable', 'critical', `${this.o.node}:${e.id}`, `the ipvs service of ${this.o.node} cannot read or change the kernel's IPVS table: ${d.error ?? 'unknown error'}; ${d.hint ?? ''}`.trim(), [e.id], { node: this.o.node, error: d.error ?? null, hint: d.hint ?? null })];
      }
      case 'relay.notify_ran': {
        const d = t.data;
        if (d.exit_code === 0 && !d.timed_out && d.signal === null) return [];
        const how = d.timed_out ? `timed out after ${d.duration_ms} ms and was killed` : d.signal ? `was killed by ${d.signal}` : d.exit_code === null ? 'could not start' : `exited with status ${d.exit_code}`;
        const tail = lastLine(d.output_tail);
        return [this.alert(e, 'notify_failed', 'warning', e.id, `${d.script} script ${d.argv[0]} for ${SUBJECTS.notify.idOf(e.subject) ?? e.subject} ${how}${tail ? `: ${tail}` : ''}`, [e.id],
          { script: d.script, program: d.argv[0]!, exit_code: d.exit_code, signal: d.signal, timed_out: d.timed_out })];
      }
      default:
        return [];
    }
  }

  /** Alerts owed at time now (VIP groups unowned, or a lease refused, longer than their thresholds). */
  due(now: number): AlertDraft[] {
    const out: AlertDraft[] = [];
    for (const [group, g] of this.groups) {
      const v = g.vacant;
      if (v && v.speaker && !v.alerted && now - v.at.ts >= this.o.vipUnownedMs) {
        v.alerted = true;
        out.push(this.unowned(group, v, now - v.at.ts));
      }
      const r = g.released;
      if (r && !r.alerted && this.zkLost && now - r.at.ts >= this.o.vipUnownedMs) {
        r.alerted = true;
        out.push({
          id: `vip_unowned:${group}:${r.epoch}`, kind: 'vip_unowned', severity: 'critical', cause: r.at.seq, events: [this.zkLost.id, r.at.id],
          summary: `VIP group ${this.describe(group)} has had no owner that ${this.o.node} can see for ${seconds(now - r.at.ts)}: ${this.o.node} released it (epoch ${r.epoch}) when it lost ZooKeeper, and no node can take a lease without ZooKeeper`,
          details: { group, unowned_ms: now - r.at.ts, last_holder: this.o.node, last_epoch: r.epoch, seen_by: this.o.node, zookeeper: 'unreachable' },
        });
      }
      const dn = g.denied;
      if (dn && !dn.alerted && now - dn.at.ts >= this.o.leaseDeniedMs) {
        dn.alerted = true;
        const d = dn.data;
        out.push({
          id: `lease_denied:${d.group}:${d.epoch}:${d.holder_epoch}`, kind: 'lease_denied', severity: 'critical', cause: dn.at.seq, events: [dn.at.id],
          summary: `${this.o.node} has been MASTER for ${seconds(now - dn.at.ts)} but ${d.holder} holds the lease of VIP group ${this.describe(d.group)} (epoch ${d.holder_epoch}): two nodes each believe they must hold it (VRRP cannot hear between them?); split brain averted, ${this.o.node} does not bind it`,
          details: { group: d.group, holder: d.holder, holder_epoch: d.holder_epoch, epoch: d.epoch, denied_ms: now - dn.at.ts },
        });
      }
    }
    return out;
  }

  /** When due() will next have something to say, if ever. */
  nextDueAt(): number | undefined {
    const times: number[] = [];
    for (const g of this.groups.values()) {
      const v = g.vacant;
      if (v && v.speaker && !v.alerted) times.push(v.at.ts + this.o.vipUnownedMs);
      if (g.denied && !g.denied.alerted) times.push(g.denied.at.ts + this.o.leaseDeniedMs);
      if (g.released && !g.released.alerted && this.zkLost) times.push(g.released.at.ts + this.o.vipUnownedMs);
    }
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  private group(name: string): GroupView {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = { holder: null }));
    return g;
  }

  private describe(group: string): string {
    const a = this.o.groupAddresses.get(group);
    return a && a.length > 0 ? `${group} (${a.join(', ')})` : group;
  }

  private alert(e: StoredEvent, kind: string, severity: AlertSeverity, key: string, summary: string, events: string[], details: AlertDraft['details']): AlertDraft {
    return { id: `${kind}:${key}`, kind, severity, summary, events, details, cause: e.seq };
  }

  private observed(e: StoredEvent, d: EventData<'relay.lease_observed'>): AlertDraft[] {
    const g = this.group(d.group);
    const out: AlertDraft[] = [];
    if (d.previous && (!d.holder || d.holder.node !== d.previous.node || d.holder.epoch !== d.previous.epoch)) g.ended = { ...d.previous, at: ref(e) };
    g.holder = d.holder;
    if (d.holder) g.released = undefined;
    if (!d.holder) {
      g.vacant ??= { at: ref(e), speaker: d.speaker === this.o.node, alerted: false, last: d.previous };
      return out;
    }
    const v = g.vacant;
    g.vacant = undefined;
    if (v?.speaker) {
      const took = e.ts - v.at.ts;
      // Owed but not raised (the relay was down while it was due): raise it now, late rather than never.
      if (!v.alerted && took >= this.o.vipUnownedMs) out.push({ ...this.unowned(d.group, v, took), cause: e.seq });
      if (v.alerted || took >= this.o.vipUnownedMs) {
        out.push(this.alert(e, 'vip_owned', 'info', `${d.group}:${d.holder.epoch}`, `VIP group ${this.describe(d.group)} is held again, by ${d.holder.node} (epoch ${d.holder.epoch}), after ${seconds(took)} without an owner`,
          [v.at.id, e.id], { group: d.group, holder: d.holder.node, epoch: d.holder.epoch, unowned_ms: took }));
      }
    }
    return out;
  }

  private unowned(group: string, v: NonNullable<GroupView['vacant']>, forMs: number): AlertDraft {
    const last = v.last ? `; last held by ${v.last.node} (epoch ${v.last.epoch})` : '';
    return {
      id: `vip_unowned:${group}:${v.last ? v.last.epoch : v.at.id}`, kind: 'vip_unowned', severity: 'critical',
      summary: `VIP group ${this.describe(group)} has had no owner for ${seconds(forMs)}${last}: no node is MASTER with a lease`,
      events: [v.at.id], details: { group, unowned_ms: forMs, last_holder: v.last?.node ?? null, last_epoch: v.last?.epoch ?? null }, cause: v.at.seq,
    };
  }

  /** vip.bound on this node: a failover when someone else held the VIP before. */
  private bound(e: StoredEvent, d: EventData<'vip.bound'>): AlertDraft[] {
    const g = this.group(d.group);
    g.released = undefined;
    const acquired = g.acquired?.epoch === d.epoch ? g.acquired : undefined;
    const ended = g.ended && g.ended.node !== this.o.node ? g.ended : undefined;
    // The tenure node names the last holder that wrote it; if that is this node (the holder
    // in between could not write it), the lease's record of whom it waited for decides.
    const tenure = d.previous && d.previous.node !== this.o.node ? d.previous : undefined;
    const previous = tenure ?? acquired?.previous ?? ended;
    if (!previous || previous.node === this.o.node) return [];
    const sameLease = ended && ended.node === previous.node && ended.epoch === previous.epoch;
    // What clients saw: from the old holder's addresses really gone (removed, or dropped by
    // the kernel at the end of their lifetime) to this bind. Without the old tenure's end
    // (an older peer), the gap between the leases is a lower bound of it.
    const boundAt = d.bound_at ?? e.ts;
    const unownedMs = tenure ? Math.max(0, boundAt - tenure.gone_at) : sameLease ? Math.max(0, boundAt - ended.at.ts) : null;
    const vrrp = this.causeOf(e.causation);
    const why = vrrp ? `${vrrp.data.instance} became MASTER (${vrrp.data.reason.replaceAll('_', ' ')}${vrrp.data.detail ? `: ${vrrp.data.detail}` : ''})` : 'its VRRP instance became MASTER';
    const gone = tenure ? (tenure.how === 'unbound' ? `${previous.node} removed them` : `the kernel of ${previous.node} dropped them when their lifetime ran out`) : undefined;
    const unowned = unownedMs === null
      ? "the time it was unowned is unknown (this node's relay did not see the lease end)"
      : gone ? `no node had the addresses for ${seconds(unownedMs)} (${gone})` : `unowned for at least ${seconds(unownedMs)} (between the leases)`;
    const events = [sameLease ? ended.at.id : undefined, vrrp?.at.id, acquired?.at.id, e.id].filter((x): x is string => x !== undefined);
    // A handover the old holder made itself (it released the addresses) is routine; one
    // after the old holder went silent (crash, cut) is worth a look.
    const routine = tenure ? tenure.how === 'unbound' : vrrp?.data.reason === 'preempted' || vrrp?.data.reason === 'priority_zero_advert';
    return [this.alert(e, 'failover', routine ? 'info' : 'warning', `${d.group}:${d.epoch}`,
      `VIP group ${this.describe(d.group)} moved to ${this.o.node} from ${previous.node} (epoch ${previous.epoch} -> ${d.epoch}): ${why}; ${unowned}`,
      events, { group: d.group, to: this.o.node, from: previous.node, from_epoch: previous.epoch, epoch: d.epoch, unowned_ms: unownedMs, reason: vrrp?.data.reason ?? null, gone: tenure?.how ?? null })];
  }

  /** This node's fence lost its ZooKeeper session (its VIPs went with it), or has one again. */
  private zookeeper(e: StoredEvent, d: EventData<'fence.zk_state'>): AlertDraft[] {
    if (d.state === 'lost' || d.state === 'expired') {
      if (d.service !== undefined || this.zkLost) return []; // the fence starting or stopping; or still lost
      this.zkLost = ref(e);
      return [this.alert(e, 'zookeeper_lost', 'critical', `${this.o.node}:${e.id}`,
        d.failsafe
          ? `${this.o.node} lost ZooKeeper (${d.detail ?? d.state}): it keeps the VIPs it held under failsafe, on the promises of every other node, and cannot take another until its session is back`
          : `${this.o.node} lost ZooKeeper (${d.detail ?? d.state}): it released its VIPs and cannot hold one until its session is back`,
        [e.id], { node: this.o.node, state: d.state, detail: d.detail ?? null })];
    }
    if (d.state !== 'connected' || !this.zkLost) return [];
    const lost = this.zkLost;
    this.zkLost = undefined;
    for (const g of this.groups.values()) g.released = undefined; // the lease holders are visible again
    return [this.alert(e, 'zookeeper_back', 'info', `${this.o.node}:${lost.id}`, `${this.o.node} has a ZooKeeper session again after ${seconds(e.ts - lost.ts)}`, [lost.id, e.id], { node: this.o.node, lost_ms: e.ts - lost.ts })];
  }

  private causeOf(seq: number | null): { data: EventData<'vrrp.state_changed'>; at: Ref } | undefined {
    if (seq === null) return undefined;
    for (const i of this.instances.values()) if (i.at.seq === seq && i.data.to === 'MASTER') return i;
    return undefined;
  }

  private health(e: StoredEvent, d: EventData<'health.changed'>): AlertDraft[] {
    const { before, after } = this.servers.apply(e.subject, d.check, d.to);
    if (before === after) return [];
    const rs = SUBJECTS.realServer.idOf(e.subject) ?? e.subject;
    if (after === 'down') {
      return [this.alert(e, 'rs_down', 'warning', `${rs}:${e.id}`, `real server ${rs} is down: ${d.check}: ${d.reason}`, [e.id], { real_server: rs, check: d.check, reason: d.reason })];
    }
    if (after === 'up' && before === 'down') {
      return [this.alert(e, 'rs_up', 'info', `${rs}:${e.id}`, `real server ${rs} is up again: ${d.reason}`, [e.id], { real_server: rs, check: d.check })];
    }
    return [];
  }
}
