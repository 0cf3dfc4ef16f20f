// The VRRP service's I/O: raw sockets, timers, the event log. All decisions are the
// decider's; this file feeds it commands and carries out its events.
import { readFile } from 'node:fs/promises';
import type { VigilConfig } from '../../shared/config/index.js';
import { instancesForNode } from '../../shared/config/index.js';
import { followLog, isEvent, serviceSubject, trackSubject, vrrpGroupSubject, vrrpSubject, type EventLog, type NewEvent, type StoredEvent, type Subscription } from '../../shared/eventlog/index.js';
import { interfaceInfo, ipMonitor, type InterfaceInfo, type IpMonitor } from '../../shared/iproute.js';
import type { Logger } from '../../shared/logger.js';
import type { CounterName } from '../../shared/metrics/catalogue.js';
import type { MetricsRegistry } from '../../shared/metrics/registry.js';
import { LivenessWatch } from '../../shared/liveness-watch.js';
import { METRICS_MS, recorder, serviceLiveness, type Liveness, type ReloadChanges } from '../../shared/service.js';
import { diffByName, sameJson } from '../../shared/config/diff.js';
import { QuorumTracker } from '../../shared/health-record.js';
import { checkAdvert, decodeIpPacket, encodeAdvert, encodeIpPacket, VRRP_MULTICAST, type DropReason, type InstanceExpectations } from './codec.js';
import { absorbsAdvert, effectivePriority, evolve, initialState, masterDownIntervalMs, nextDeadline, step, type VrrpCommand, type VrrpEvent, type VrrpState, type VrrpStateName } from './decider.js';
import { openVrrpSocket, type VrrpSocket } from './socket.js';
import {
  expectations, FENCE_TRACKER, interfaceTracker, intervalMs, isInterfaceTracker, planInstance, scriptTracker, trackedInterface, trackedVirtualServer, virtualServerTracker,
  type InstancePlan,
} from './spec.js';
import { groupState, stepGroup } from './sync.js';
import { Hearing } from './hearing.js';
import { every, type Chore } from '../../shared/housekeeping.js';

interface Running {
  plan: InstancePlan;
  state: VrrpState;
  timer: NodeJS.Timeout | undefined;
  /** When the timer fires (monotonic ms); it may be earlier than the state's deadline, never later. */
  timerAt: number | undefined;
  group: SyncGroup | undefined;
  /** What its received adverts must be (made once). */
  want: InstanceExpectations;
  /** Its advert datagrams as sent, by priority, one per destination (an advert changes with nothing else). */
  datagrams: Map<number, Buffer[]>;
  counters: ReturnType<typeof instanceCounters>;
  /** The advert its socket absorbs (socket.routine), while it does: the last of them is applied before anything else. */
  routine: { from: string; priority: number; intervalMs: number } | undefined;
  /** A master whose routine adverts its socket sends (socket.repeat): their schedule is read back before anything else. */
  repeating: boolean;
  /** Whose adverts it hears (vrrp.hearing). */
  hearing: Hearing;
}

interface SyncGroup {
  name: string;
  members: Running[];
  /** The state last recorded in a vrrp.group_changed event. */
  recorded: VrrpStateName;
}

interface Link {
  ifname: string;
  socket: VrrpSocket;
  joined: boolean;
  byVrid: Map<number, Running>;
  dropped: Partial<Record<DropReason, number>>;
  lastDropSource: string | undefined;
  windowStart: number;
}

export interface VrrpServiceOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
  /** How often dropped packets are summarised in a vrrp.bad_packets event. */
  badPacketWindowMs?: number;
  /** How often tracked interfaces' link state is read besides at each link change netlink reports (a backstop). */
  linkPollMs?: number;
  /** Where adverts and drops are counted (keepalived's per-instance statistics). */
  metrics?: MetricsRegistry;
}

/** The keepalived statistic a packet dropped for an instance counts in (keepalived-exporter's names). */
const ERROR_COUNTER: Partial<Record<DropReason, CounterName>> = {
  bad_ttl: 'keepalived_ip_ttl_errors_total',
  bad_length: 'keepalived_packet_length_errors_total',
  bad_interval: 'keepalived_advertisements_interval_errors_total',
  interval_mismatch: 'keepalived_advertisements_interval_errors_total',
  bad_type: 'keepalived_invalid_type_received_total',
  bad_version: 'keepalived_invalid_type_received_total',
  address_mismatch: 'keepalived_address_list_errors_total',
  bad_auth_type: 'keepalived_authentication_invalid_total',
  auth_mismatch: 'keepalived_authentication_mismatch_total',
  auth_failure: 'keepalived_authentication_failure_total',
};

const instanceLabels = (plan: InstancePlan) => ({ iname: plan.spec.name, intf: plan.interface, vrid: String(plan.spec.vrid) });
/** The per-advert counters of an instance, their keys made once. */
const instanceCounters = (metrics: MetricsRegistry | undefined, plan: InstancePlan) => {
  const c = (name: CounterName) => metrics?.counter(name, instanceLabels(plan));
  return {
    sent: c('keepalived_advertisements_sent_total'),
    received: c('keepalived_advertisements_received_total'),
    zeroSent: c('keepalived_priority_zero_sent_total'),
    zeroReceived: c('keepalived_priority_zero_received_total'),
  };
};

const now = () => performance.now();
const MULTICAST_ONLY = [VRRP_MULTICAST];
/** Where an instance's adverts go: its unicast peers, or the VRRP group. */
const targetsOf = (plan: InstancePlan): string[] => (plan.peers.length > 0 ? plan.peers : MULTICAST_ONLY);
const disarm = (r: Running) => {
  clearTimeout(r.timer);
  r.timer = undefined;
};
const LINK_RECHECK_MS = 50;
const LINK_BACKSTOP_MS = 5000;

/** Which tracker a log event speaks about, and whether it is OK now. */
export function trackerUpdate(e: Pick<StoredEvent, 'type' | 'data'>): { name: string; ok: boolean; detail: string } | undefined {
  if (isEvent(e, 'track.changed')) {
    const d = e.data;
    return { name: isInterfaceTracker(d.name) ? d.name : scriptTracker(d.name), ok: d.to === 'ok', detail: d.reason };
  }
  // Suspended keeps the lease until its deadline (a ZooKeeper leader election must not fail VIPs over); lost is FAULT.
  // Lost with failsafe: the fence keeps its VIPs on its peers' promises, and VRRP stays MASTER for it.
  if (isEvent(e, 'fence.zk_state')) return { name: FENCE_TRACKER, ok: e.data.state === 'connected' || e.data.state === 'suspended' || e.data.failsafe === true, detail: `ZooKeeper ${e.data.state}${e.data.failsafe ? ' (failsafe)' : ''}` };
  return undefined;
}

/**
 * What the fence says about a lease that shortens an instance's wait: free and this node
 * first to take it (lease_free), or held by a node it outranks (lease_outranked).
 * Undefined for any other event; no command for a free lease that names another node.
 */
export function leaseCommand(e: Pick<StoredEvent, 'type' | 'data'>, node: string): { instance: string; command: VrrpCommand | undefined } | undefined {
  if (isEvent(e, 'fence.lease_free')) {
    const d = e.data;
    if (d.successor !== node) return { instance: d.instance, command: undefined };
    const why = d.previous ? `lease holder ${d.previous.node} (epoch ${d.previous.epoch}) left the lock` : 'nobody holds the lease';
    return { instance: d.instance, command: { type: 'lease_free', now: now(), detail: `${why}; this node is first to take it` } };
  }
  if (isEvent(e, 'fence.lease_outranked')) {
    const d = e.data;
    return { instance: d.instance, command: { type: 'lease_outranked', now: now(), holderPriority: d.holder_priority, detail: `lease held by ${d.holder.node} (epoch ${d.holder.epoch}), configured priority ${d.holder_priority}` } };
  }
  return undefined;
}

export class VrrpService {
  private readonly instances: Running[] = [];
  private readonly links = new Map<string, Link>();
  private subscription: Subscription | undefined;
  private summaryChore: Chore | undefined;
  private routineCountChore: Chore | undefined;
  private linkChore: Chore | undefined;
  private linkMonitor: IpMonitor | undefined;
  private linkRecheck: NodeJS.Timeout | undefined;
  private readonly linkState = new Map<string, boolean>();
  /** The last known state of every tracked condition (scripts, interfaces, quorum), for instances a reload starts. */
  private readonly trackerStates = new Map<string, boolean>();
  /** The interfaces some instance tracks (track_interface). */
  private trackedInterfaces: string[] = [];
  /** The fence tracker is OK while the fence reports a ZooKeeper session and its heartbeat is fresh. */
  private zkConnected = false;
  private fenceAlive = false;
  private fenceWatch: LivenessWatch | undefined;
  /** Real-server health and the quorum of each tracked virtual server (track_virtual_server); none without one. */
  private quorum: QuorumTracker | undefined;
  private readonly groups = new Map<string, SyncGroup>();
  /** The configuration running now (a reload replaces it). */
  private config: VigilConfig;

  /** The log is the record, not the control path: a failed append is reported, VRRP goes on. */
  private readonly append: (e: NewEvent) => StoredEvent | undefined;

  constructor(private readonly o: VrrpServiceOptions) {
    this.append = recorder(o.log, o.logger);
    this.config = o.config;
  }

  /** The plan of every instance of this node under a configuration (each primary address read from its interface). */
  private async plans(config: VigilConfig): Promise<InstancePlan[]> {
    const out: InstancePlan[] = [];
    // each interface read once (250 instances on one link were 250 runs of ip at start-up, one of which could time out on a loaded machine)
    const interfaces = new Map<string, Promise<InterfaceInfo>>();
    for (const vi of instancesForNode(config, this.o.node)) {
      if (!interfaces.has(vi.interface)) interfaces.set(vi.interface, interfaceInfo(vi.interface));
      const info = await interfaces.get(vi.interface)!;
      const primary = vi.unicast_src_ip ?? info.ipv4[0]?.address;
      if (!primary) throw new Error(`instance ${vi.name}: interface ${vi.interface} has no IPv4 address and no unicast_src_ip is set`);
      out.push(planInstance(config, vi, primary));
    }
    return out;
  }

  /** An instance made ready to start: in its sync group and on its link (not started). */
  private add(plan: InstancePlan): Running {
    let group: SyncGroup | undefined;
    if (plan.syncGroup !== undefined) {
      group = this.groups.get(plan.syncGroup) ?? { name: plan.syncGroup, members: [], recorded: 'INIT' };
      this.groups.set(group.name, group);
    }
    const hearing = new Hearing(
      { now, windowMs: () => masterDownIntervalMs(r.state), routine: () => r.routine?.from, changed: (hears) => this.recordHearing(r, hears) },
      this.recordedHearing(plan),
    );
    const r: Running = { plan, state: initialState(plan.spec), timer: undefined, timerAt: undefined, group, want: expectations(plan), datagrams: new Map(), counters: instanceCounters(this.o.metrics, plan), routine: undefined, repeating: false, hearing };
    group?.members.push(r);
    this.instances.push(r);
    const link = this.linkFor(plan);
    link.byVrid.set(plan.spec.vrid, r);
    this.filterUnknown(link);
    hearing.review(); // an earlier run's record that no longer holds is corrected at once
    return r;
  }

  /** What the log last recorded of the instance's hearing, if under its present address. */
  private recordedHearing(plan: InstancePlan): string[] | undefined {
    try {
      const [last] = this.o.log.query({ types: ['vrrp.hearing'], subject: vrrpSubject(plan.spec.name), limit: 1, newest: true });
      return last && isEvent(last, 'vrrp.hearing') && last.data.address === plan.spec.primaryAddress ? last.data.hears : undefined;
    } catch {
      return undefined; // recorded again
    }
  }

  private recordHearing(r: Running, hears: string[]): void {
    const instance = r.plan.spec.name;
    this.o.logger.info('VRRP adverts heard', { instance, hears });
    this.append({ type: 'vrrp.hearing', source: 'vrrp', subject: vrrpSubject(instance), data: { instance, address: r.plan.spec.primaryAddress, hears } });
  }

  /** Stops an instance (priority-0 advert if MASTER, STOPPED recorded) and forgets it; a link with no instance left is closed. */
  private remove(r: Running): void {
    this.apply(r, { type: 'stop', now: now() });
    disarm(r);
    r.hearing.stop();
    this.o.metrics?.forget({ iname: r.plan.spec.name }); // its statistics go with it (a restarted one counts from 0)
    this.instances.splice(this.instances.indexOf(r), 1);
    if (r.group) {
      r.group.members.splice(r.group.members.indexOf(r), 1);
      if (r.group.members.length === 0) this.groups.delete(r.group.name);
    }
    const link = this.links.get(r.plan.interface);
    if (link && link.byVrid.get(r.plan.spec.vrid) === r) link.byVrid.delete(r.plan.spec.vrid);
    if (link && link.byVrid.size === 0) {
      link.socket.close();
      this.links.delete(r.plan.interface);
    } else if (link) {
      this.filterUnknown(link);
    }
  }

  /**
   * Adverts of VRIDs that no instance on the link has (other routers on the segment) are
   * dropped and counted by the socket, waking nothing, as keepalived ignores them; with
   * global_defs.vrrp_log_unknown_vrids they are bad packets (wrong_vrid) as any other.
   */
  private filterUnknown(link: Link): void {
    link.socket.knownVrids(this.config.global_defs.vrrp_log_unknown_vrids ? null : [...link.byVrid.keys()]);
  }

  /** The tracked interfaces and virtual servers of the instances now (after a start or a reload). */
  private watchTracked(): { newInterfaces: string[]; newQuorum: boolean } {
    const tracked = <T>(of: (tracker: string) => T | undefined) => [...new Set(this.instances.flatMap((r) => Object.keys(r.plan.spec.trackers).map(of).filter((x) => x !== undefined)))];
    const before = new Set(this.trackedInterfaces);
    this.trackedInterfaces = tracked(trackedInterface);
    const trackedVirtualServers = tracked(trackedVirtualServer).sort();
    const key = JSON.stringify(trackedVirtualServers.map((v) => [v, this.config.virtual_servers[v]]));
    const newQuorum = key !== this.quorumKey;
    if (newQuorum) {
      this.quorum = trackedVirtualServers.length > 0 ? new QuorumTracker(this.config, trackedVirtualServers) : undefined;
      this.quorumKey = key;
    }
    return { newInterfaces: this.trackedInterfaces.filter((i) => !before.has(i)), newQuorum };
  }
  /** The tracked virtual servers and their configuration the quorum tracker was made for. */
  private quorumKey = '';

  /**
   * Applies a new configuration as a difference: an instance whose plan is the same keeps
   * running untouched (a MASTER stays MASTER, no advert or GARP is added); a new one starts,
   * a removed one stops (priority 0 if MASTER), a changed one stops and starts alone.
   */
  async reload(config: VigilConfig): Promise<ReloadChanges> {
    const next = new Map((await this.plans(config)).map((p) => [p.spec.name, p]));
    const running = new Map(this.instances.map((r) => [r.plan.spec.name, r]));
    const diff = diffByName(new Map([...running].map(([n, r]) => [n, r.plan])), next, sameJson);
    this.config = config;
    for (const n of [...diff.removed, ...diff.changed]) this.remove(running.get(n)!);
    const started = [...diff.changed, ...diff.added].map((n) => this.add(next.get(n)!));
    for (const link of this.links.values()) this.filterUnknown(link);
    const { newInterfaces, newQuorum } = this.watchTracked();
    if (newQuorum && this.quorum) {
      // Virtual servers tracked now, or configured anew: their quorum from the record; a
      // running instance whose tracker it changes hears it as any change (recorded).
      this.quorum.load(this.o.log, this.o.log.lastSeq());
      this.quorum.advance();
      for (const [vs, state] of this.quorum.states) {
        const name = virtualServerTracker(vs);
        if (this.trackerStates.get(name) !== (state === 'up')) this.applyTracker(name, state === 'up', `quorum ${state} (configuration reloaded)`);
      }
    }
    if (started.length > 0) {
      // What the running instances know of their tracked conditions, the new ones learn before they start.
      // (trackerStates holds the fence tracker too: set at start-up and at every change)
      for (const r of started) {
        for (const [name, ok] of this.trackerStates) if (name in r.plan.spec.trackers) r.state = evolve(r.state, { type: 'tracker_changed', name, ok });
      }
      for (const [vs, state] of this.quorum?.states ?? []) this.setTrackerSilently(virtualServerTracker(vs), state === 'up', started);
      await this.pollLinks(false, newInterfaces, started);
      for (const r of started) this.apply(r, { type: 'start', now: now() });
    }
    if (this.config.fence.required && this.fenceWatch === undefined) this.watchFence();
    const label = (n: string) => `instance ${n}`;
    return { added: diff.added.map(label), removed: diff.removed.map(label), changed: diff.changed.map(label), unchanged: diff.unchanged.map(label) };
  }

  async start(): Promise<void> {
    const { log } = this.o;
    for (const plan of await this.plans(this.config)) this.add(plan);
    for (const g of this.groups.values()) {
      if (g.members.length === 1) this.o.logger.warn('sync group has only one instance; this probably is not what you want', { group: g.name });
    }
    this.watchTracked();

    // Rebuild tracked conditions from the log, start the instances, then follow the log.
    const replay = (e: StoredEvent) => {
      const u = trackerUpdate(e);
      if (!u) return;
      if (u.name === FENCE_TRACKER) this.zkConnected = u.ok;
      else this.setTrackerSilently(u.name, u.ok);
    };
    const rebuild = async (upTo: number) => {
      this.loadQuorum(upTo);
      this.fenceAlive = this.fenceLiveness().alive;
      if (this.fenceAlive) this.readSessionOfLiveFence(); // (the replay may end on a crashed fence's word)
      this.setTrackerSilently(FENCE_TRACKER, this.zkConnected && this.fenceAlive);
      await this.pollLinks(false);
      for (const r of this.instances) this.apply(r, { type: 'start', now: now() });
    };
    this.subscription = await followLog(log, { logger: this.o.logger, replay: { types: ['track.changed', 'fence.zk_state'], apply: replay }, rebuild }, (batch) => {
      for (const e of batch) {
        if (this.quorum?.apply(e)) {
          this.followQuorum(e.seq);
          continue;
        }
        const lease = leaseCommand(e, this.o.node);
        if (lease) {
          const r = this.instances.find((x) => x.plan.spec.name === lease.instance);
          if (r && lease.command) this.apply(r, lease.command, e.seq);
          continue;
        }
        const u = trackerUpdate(e);
        if (!u) continue;
        if (u.name === FENCE_TRACKER) {
          this.zkConnected = u.ok;
          this.applyFence(u.detail, e.seq);
        } else {
          this.applyTracker(u.name, u.ok, u.detail, e.seq);
        }
      }
    });
    const windowMs = this.o.badPacketWindowMs ?? 10_000;
    this.summaryChore = every(windowMs, () => this.summariseDrops());
    this.routineCountChore = every(METRICS_MS, () => this.countRoutine());
    // Link changes as netlink reports them (ip monitor: nothing runs while nothing changes),
    // read again a moment later (a burst of changes settles), and a slow poll as a backstop.
    this.linkMonitor = await ipMonitor('link', () => {
      void this.pollLinks(true);
      clearTimeout(this.linkRecheck);
      this.linkRecheck = setTimeout(() => void this.pollLinks(true), LINK_RECHECK_MS);
    }, (message) => this.o.logger.warn('link monitor', { message }));
    this.linkChore = every(this.o.linkPollMs ?? LINK_BACKSTOP_MS, () => void this.pollLinks(true));
    if (this.config.fence.required) this.watchFence();
  }

  /** Quorum as the IPVS service last recorded it (else up), brought up to date with the checks' last results. */
  private loadQuorum(upTo: number): void {
    const q = this.quorum;
    if (!q) return;
    q.load(this.o.log, upTo);
    q.advance();
    for (const [name, state] of q.states) this.setTrackerSilently(virtualServerTracker(name), state === 'up');
  }

  /** After a health.changed: the tracked virtual servers whose quorum it changed. */
  private followQuorum(cause: number): void {
    for (const m of this.quorum?.advance() ?? []) {
      const detail = `quorum ${m.state}: up weight ${m.upWeight}, quorum ${m.quorum}${m.hysteresis ? ` ± ${m.hysteresis}` : ''}`;
      this.applyTracker(virtualServerTracker(m.vs), m.state === 'regained', detail, cause);
    }
  }

  private fenceLiveness(): { alive: boolean; detail: string } {
    return serviceLiveness(this.o.log, 'fence', this.config.fence.liveness_timeout * 1000);
  }

  private watchFence(): void {
    this.fenceWatch = new LivenessWatch({ log: this.o.log, service: 'fence', timeoutMs: () => this.config.fence.liveness_timeout * 1000, onRead: (h) => this.fenceRead(h) });
    this.fenceWatch.start();
  }

  private fenceRead(h: Liveness): void {
    if (h.alive === this.fenceAlive) return;
    this.fenceAlive = h.alive;
    if (h.alive) this.readSessionOfLiveFence();
    this.applyFence(h.detail);
  }

  /**
   * A live fence's session, as the log says now. A fence that has just started beats before
   * its word on ZooKeeper reaches this service (at start-up, or through its subscription),
   * which may still hold what the fence before it (crashed) said last: "connected".
   */
  private readSessionOfLiveFence(): void {
    this.zkConnected = this.fenceSessionNow() ?? this.zkConnected;
  }

  /** Whether the fence's session counts as up by the log as it is now: not since its latest start until it says so. */
  private fenceSessionNow(): boolean | undefined {
    try {
      const [state] = this.o.log.query({ types: ['fence.zk_state'], newest: true, limit: 1 });
      const [started] = this.o.log.query({ types: ['service.started'], subject: serviceSubject('fence'), newest: true, limit: 1 });
      if (started && (!state || started.seq > state.seq)) return false;
      return state ? trackerUpdate(state)?.ok : undefined;
    } catch (err) {
      this.o.logger.warn('cannot read the fence\'s session state from the log; going by the events delivered so far', { err });
      return undefined;
    }
  }

  /** The fence tracker after one of its two inputs changed; detail says what changed, and what else is wrong. */
  private applyFence(detail: string, causation?: number): void {
    const missing = [!this.zkConnected && 'ZooKeeper not connected', !this.fenceAlive && 'fence service not alive'].filter((m) => m && !detail.includes(m));
    this.applyTracker(FENCE_TRACKER, this.zkConnected && this.fenceAlive, [detail, ...missing].join('; '), causation);
  }

  private setTrackerSilently(name: string, ok: boolean, only?: Running[]): void {
    this.trackerStates.set(name, ok);
    for (const r of only ?? this.instances) {
      if (!(name in r.plan.spec.trackers)) continue;
      this.catchUp(r); // (its priority may change: what was routine may not be)
      r.state = evolve(r.state, { type: 'tracker_changed', name, ok });
      if (r.repeating) this.armTimer(r); // a master's repeated adverts at its new priority
    }
  }

  private applyTracker(name: string, ok: boolean, detail: string, causation?: number): void {
    this.trackerStates.set(name, ok);
    for (const r of this.instances) this.apply(r, { type: 'track', now: now(), name, ok, detail }, causation);
  }

  /** Priority-0 adverts from every master, then silence. */
  stop(): void {
    this.subscription?.close();
    this.summaryChore?.stop();
    this.routineCountChore?.stop();
    this.linkChore?.stop();
    clearTimeout(this.linkRecheck);
    this.linkMonitor?.close();
    this.fenceWatch?.stop();
    for (const r of this.instances) {
      this.apply(r, { type: 'stop', now: now() });
      disarm(r);
      r.hearing.stop();
    }
    this.summariseDrops();
    for (const l of this.links.values()) l.socket.close();
  }

  private linkFor(plan: InstancePlan): Link {
    let link = this.links.get(plan.interface);
    if (!link) {
      const ifname = plan.interface;
      const socket = openVrrpSocket(ifname, {
        datagram: (d) => this.receive(ifname, d),
        overdue: (vrid) => this.routineStopped(ifname, vrid),
        error: (msg) => this.o.logger.error('VRRP socket error', { interface: ifname, error: msg }),
      });
      link = { ifname, socket, joined: false, byVrid: new Map(), dropped: {}, lastDropSource: undefined, windowStart: Date.now() };
      this.links.set(ifname, link);
    }
    if (plan.peers.length === 0 && !link.joined) {
      link.socket.joinMulticast();
      link.joined = true;
    }
    return link;
  }

  private receive(ifname: string, datagram: Buffer): void {
    const link = this.links.get(ifname)!;
    const ip = decodeIpPacket(datagram);
    if (!ip.ok) return this.countDrop(link, ip.reason, undefined);
    const src = ip.value.ip.src;
    const vrid = ip.value.payload[1];
    const r = vrid === undefined ? undefined : link.byVrid.get(vrid);
    if (!r) return this.countDrop(link, 'wrong_vrid', src);
    const v = checkAdvert(ip.value, r.want);
    if (!v.ok) {
      this.countDrop(link, v.reason, src, r.plan);
      if (v.reason !== 'own_address') this.o.logger.debug('VRRP packet dropped', { interface: ifname, reason: v.reason, detail: v.detail });
      return;
    }
    const { advert } = v.value;
    r.counters.received?.inc();
    if (advert.priority === 0) r.counters.zeroReceived?.inc();
    const heard = { from: src, priority: advert.priority, intervalMs: intervalMs(advert.version, advert.interval) };
    const at = now();
    this.apply(r, { type: 'advert', now: at, ...heard });
    if (r.group === undefined && absorbsAdvert(r.state, { at, ...heard })) {
      // The same advert again only pushes the master-down timer back: the socket counts and
      // times those, and says when they stop (routineStopped); no timer runs here meanwhile.
      r.routine = heard;
      link.socket.routine(r.plan.spec.vrid, { src, dst: ip.value.ip.dst, vrrp: ip.value.payload, masterDownMs: r.state.masterDownAt! - at });
      disarm(r);
      r.timerAt = undefined;
    }
    r.hearing.heard(src, at);
  }

  /**
   * The adverts the socket absorbed for this instance since it last looked: counted, and the
   * last one applied as when it came; the socket forgets the routine (whatever is applied
   * next may change what is routine).
   */
  private catchUp(r: Running): void {
    if (r.repeating) {
      // the socket's schedule is the state's: the decider sees when the next advert is due
      const nextInMs = this.countRepeated(r);
      if (nextInMs !== undefined) r.state = { ...r.state, advertAt: now() + nextInMs };
    }
    const heard = r.routine;
    if (!heard) return;
    r.routine = undefined;
    this.links.get(r.plan.interface)?.socket.routine(r.plan.spec.vrid, null);
    const got = this.countAbsorbed(r);
    if (got) r.hearing.heard(heard.from, now() - got.agoMs);
    r.hearing.review(); // no longer absorbed: its adverts may stop being heard
    if (!got) return;
    if (got.sinceNamed > 0) {
      const { events, state } = step(r.state, { type: 'advert', now: now() - got.agoMs, ...heard });
      r.state = state;
      for (const e of events) this.carryOut(r, e, undefined);
    }
    this.armTimer(r);
  }

  /** The socket heard no routine advert for the master-down interval: the decider takes over again (its timer fires now). */
  private routineStopped(ifname: string, vrid: number): void {
    const r = this.links.get(ifname)?.byVrid.get(vrid);
    if (r) this.catchUp(r);
  }

  /** Counts the absorbed adverts of every instance (for /metrics), a second at most after they came. */
  private countRoutine(): void {
    for (const r of this.instances) {
      if (r.routine) this.countAbsorbed(r);
      if (r.repeating) this.countRepeated(r);
    }
    for (const link of this.links.values()) {
      const unknown = link.socket.unknownDropped();
      if (unknown > 0) this.o.metrics?.inc('vigil_vrrp_dropped_packets_total', { intf: link.ifname, reason: 'wrong_vrid' }, unknown);
    }
  }

  /** The adverts the socket absorbed for the instance since the last look, added to its received count. */
  private countAbsorbed(r: Running): ReturnType<VrrpSocket['collect']> {
    const got = this.links.get(r.plan.interface)?.socket.collect(r.plan.spec.vrid);
    if (got && got.count > 0) r.counters.received?.inc(got.count);
    return got;
  }

  /** The adverts the socket sent for a master since the last look, counted (failures logged, once a look); ms until its next (undefined: none). */
  private countRepeated(r: Running): number | undefined {
    const got = this.links.get(r.plan.interface)?.socket.repeated(r.plan.spec.vrid);
    if (!got) return undefined;
    if (got.sent > 0) r.counters.sent?.inc(got.sent);
    if (got.failed > 0) this.o.logger.warn('VRRP adverts not sent', { instance: r.plan.spec.name, failed: got.failed, error: got.error });
    return got.nextInMs;
  }

  private countDrop(link: Link, reason: DropReason, source: string | undefined, plan?: InstancePlan): void {
    if (reason === 'own_address') return; // our own multicast looping back is not a bad packet
    link.dropped[reason] = (link.dropped[reason] ?? 0) + 1;
    const counter = plan ? ERROR_COUNTER[reason] : undefined;
    if (counter && plan) this.o.metrics?.inc(counter, instanceLabels(plan));
    else this.o.metrics?.inc('vigil_vrrp_dropped_packets_total', { intf: link.ifname, reason });
    if (source) link.lastDropSource = source;
  }

  private summariseDrops(): void {
    for (const [ifname, link] of this.links) {
      const counts = link.dropped as Record<string, number>;
      const t = Date.now();
      if (Object.keys(counts).length > 0) {
        const first = [...link.byVrid.values()][0]!;
        this.append({
          type: 'vrrp.bad_packets', source: 'vrrp', subject: vrrpSubject(first.plan.spec.name),
          data: { interface: ifname, window_ms: t - link.windowStart, counts, ...(link.lastDropSource ? { last_source: link.lastDropSource } : {}) },
        });
      }
      link.dropped = {};
      link.lastDropSource = undefined;
      link.windowStart = t;
    }
  }

  private async pollLinks(report: boolean, interfaces = this.trackedInterfaces, only?: Running[]): Promise<void> {
    for (const ifname of interfaces) {
      let up: boolean;
      try {
        const state = (await readFile(`/sys/class/net/${ifname}/operstate`, 'utf8')).trim();
        up = state === 'up' || state === 'unknown';
      } catch {
        up = false; // the interface is gone
      }
      const before = this.linkState.get(ifname);
      this.linkState.set(ifname, up);
      const name = interfaceTracker(ifname);
      if (!report) {
        this.setTrackerSilently(name, up, only);
      } else if (before !== up) {
        const e = this.append({
          type: 'track.changed', source: 'vrrp', subject: trackSubject(name),
          data: { name, from: before === undefined ? 'unknown' : before ? 'ok' : 'fail', to: up ? 'ok' : 'fail', reason: `link ${ifname} ${up ? 'up' : 'down'}` },
        });
        // Also applied directly: the log may be unwritable, the link state still counts.
        this.applyTracker(name, up, `link ${up ? 'up' : 'down'}`, e?.seq);
      }
    }
  }

  /** Runs a command from outside (advert, timer, tracked condition) on an instance, and what its sync group then asks of its members. */
  private apply(r: Running, c: VrrpCommand, causation?: number): void {
    this.catchUp(r);
    const g = r.group;
    if (!g) {
      const { events, state } = step(r.state, c);
      r.state = state;
      this.carryOutAll(r, events, causation);
      return;
    }
    const byName = new Map(g.members.map((m) => [m.plan.spec.name, m]));
    const { steps, members } = stepGroup(g.name, g.members.map((m) => ({ name: m.plan.spec.name, state: m.state })), r.plan.spec.name, c);
    for (const m of members) byName.get(m.name)!.state = m.state;
    for (const s of steps) this.carryOutAll(byName.get(s.member)!, s.events, causation);
    const to = groupState(members);
    if (to === undefined || to === g.recorded || to === 'INIT') return;
    const changed = steps[0]!.events.find((e) => e.type === 'state_changed');
    const detail = changed?.type === 'state_changed' ? `${r.plan.spec.name} ${changed.from} -> ${changed.to}: ${changed.detail}` : `${r.plan.spec.name}: ${c.type}`;
    this.o.logger.info('VRRP sync group changed state', { group: g.name, from: g.recorded, to, detail });
    this.append({
      type: 'vrrp.group_changed', source: 'vrrp', subject: vrrpGroupSubject(g.name), causation: causation ?? null,
      data: { group: g.name, from: g.recorded, to, members: Object.fromEntries(members.map((m) => [m.name, m.state.state])), detail: detail.slice(0, 1024) },
    });
    g.recorded = to;
  }

  /** Carries out an instance's events and re-arms its timer. */
  private carryOutAll(r: Running, events: VrrpEvent[], causation: number | undefined): void {
    for (const e of events) this.carryOut(r, e, causation);
    this.armTimer(r);
  }

  /**
   * The timer at the state's deadline. A deadline that only moved later (a backup's
   * master-down timer at every advert) keeps the timer it has, which re-arms when it fires
   * early: one timer per master-down interval instead of two timer operations per advert.
   */
  private armTimer(r: Running): void {
    const deadline = nextDeadline(r.state);
    if (r.state.state === 'MASTER' && deadline !== undefined) return this.repeatAdverts(r, deadline);
    if (r.repeating) this.stopRepeating(r);
    if (deadline !== undefined && r.timer !== undefined && r.timerAt! <= deadline) return;
    disarm(r);
    r.timerAt = deadline;
    if (deadline !== undefined) r.timer = setTimeout(() => this.timerFired(r), Math.max(0, deadline - now()));
  }

  /**
   * A master's routine adverts are sent by its socket, from its next one on, every interval:
   * no timer here, no JavaScript per advert (100 instances at 100 ms cost as much as
   * keepalived's C with a timer and a decision per advert). All else is still decided here:
   * anything that changes the priority, the schedule or the state comes through apply and
   * back here, which hands the socket the new adverts or stops them.
   */
  private repeatAdverts(r: Running, deadline: number): void {
    disarm(r);
    r.timerAt = undefined;
    const { plan } = r;
    const link = this.links.get(plan.interface)!;
    link.socket.repeat(plan.spec.vrid, { datagrams: this.datagramsFor(r, effectivePriority(r.state)), dsts: targetsOf(plan), intervalMs: plan.spec.advertIntervalMs, firstInMs: Math.max(0, deadline - now()) });
    r.repeating = true;
  }

  private stopRepeating(r: Running): void {
    this.links.get(r.plan.interface)?.socket.repeat(r.plan.spec.vrid, null);
    this.countRepeated(r);
    r.repeating = false;
  }

  private timerFired(r: Running): void {
    r.timer = undefined;
    const deadline = nextDeadline(r.state);
    if (deadline === undefined) return;
    // Timers may fire up to a ms early; more than that is a deadline that moved since.
    if (deadline - now() > 1) return this.armTimer(r);
    this.apply(r, { type: 'tick', now: Math.max(now(), deadline) });
  }

  private carryOut(r: Running, e: VrrpEvent, causation: number | undefined): void {
    const { plan } = r;
    const name = plan.spec.name;
    const subject = vrrpSubject(name);
    switch (e.type) {
      case 'advert_sent':
        this.send(r, e.priority);
        return;
      case 'state_changed':
        this.o.logger.info('VRRP state changed', { instance: name, from: e.from, to: e.to, reason: e.reason, detail: e.detail, priority: e.priority });
        this.append({
          type: 'vrrp.state_changed', source: 'vrrp', subject, causation: causation ?? null,
          data: { instance: name, from: e.from, to: e.to, reason: e.reason, detail: e.detail, priority: e.priority, ...(e.master ? { master: e.master } : {}) },
        });
        return;
      case 'priority_changed':
        this.append({ type: 'vrrp.priority_changed', source: 'vrrp', subject, causation: causation ?? null, data: { instance: name, from: e.from, to: e.to, reason: e.reason } });
        return;
      case 'wants_master':
        this.o.logger.debug('VRRP instance ready for MASTER, waiting for its sync group', { instance: name, group: plan.syncGroup, detail: e.detail });
        return;
      case 'higher_priority_seen':
        this.append({ type: 'vrrp.higher_priority_seen', source: 'vrrp', subject, data: { instance: name, peer: e.peer, peer_priority: e.peerPriority, own_priority: e.ownPriority } });
        return;
      default:
        return;
    }
  }

  /** The instance's adverts at this priority, one per destination (made once). */
  private datagramsFor(r: Running, priority: number): Buffer[] {
    let datagrams = r.datagrams.get(priority);
    if (!datagrams) {
      const { plan } = r;
      const src = plan.spec.primaryAddress;
      const advert = { version: plan.spec.version, vrid: plan.spec.vrid, priority, addresses: plan.addresses, interval: plan.wireInterval, authType: plan.authPass ? 'pass' as const : 'none' as const, ...(plan.authPass ? { authPass: plan.authPass } : {}) };
      datagrams = targetsOf(plan).map((dst) => encodeIpPacket(encodeAdvert(advert, { src, dst }), { src, dst }));
      r.datagrams.set(priority, datagrams);
    }
    return datagrams;
  }

  /** An advert out of turn (becoming MASTER, answering, priority 0 on leaving), sent now. */
  private send(r: Running, priority: number): void {
    const { plan } = r;
    const link = this.links.get(plan.interface)!;
    const targets = targetsOf(plan);
    const datagrams = this.datagramsFor(r, priority);
    for (let i = 0; i < targets.length; i++) {
      const dst = targets[i]!;
      try {
        link.socket.send(datagrams[i]!, dst);
        r.counters.sent?.inc();
        if (priority === 0) r.counters.zeroSent?.inc();
      } catch (err) {
        this.o.logger.warn('VRRP advert not sent', { instance: plan.spec.name, dst, err });
      }
    }
  }

}
