// The fence service's I/O: ZooKeeper (leases), iproute2 (addresses), gratuitous ARP, the
// event log. Every decision is the decider's nextStep; this file gathers the facts,
// carries out one step at a time per VIP group, and records what it did and saw.
import type { VigilConfig } from '../../shared/config/index.js';
import { followLog, isEvent, nodeSubject, vipGroupSubject, vrrpSubject, type EventLog, type NewEvent, type StoredEvent, type Subscription } from '../../shared/eventlog/index.js';
import { lifetimePath } from '../../shared/eventlog/pulse.js';
import { watchAddresses, type AddressChange, type AddressWatcher } from '../../shared/address-monitor.js';
import { addressWasAbsent, allIpv4Addresses, ipBatch } from '../../shared/iproute.js';
import { throttledWarning, type Logger } from '../../shared/logger.js';
import type { MetricsRegistry } from '../../shared/metrics/registry.js';
import { packageVersion } from '../../shared/paths.js';
import { LivenessWatch } from '../../shared/liveness-watch.js';
import { recorder, serviceLiveness, type Liveness, type ReloadChanges } from '../../shared/service.js';
import { diffByName, sameJson } from '../../shared/config/diff.js';
import { isZkError, type ZkClient } from '../../shared/zookeeper/client.js';
import { zkPaths, type ZkPaths } from '../../shared/zookeeper/layout.js';
import { createOwnEphemeral } from '../../shared/zookeeper/nodes.js';
import { ZkSession, type SessionReport } from '../../shared/zookeeper/session.js';
import { renewLifetimes } from './address-lifetime.js';
import { ADDRESS_LIFETIME_S, failsafeHolds, fenceHeartbeatMs, KERNEL_SLACK_MS, MIN_SESSION_TIMEOUT_MS, mayRenew, nextStep, successorOf, type FenceStep, type GroupFacts, type LockHolder, type SessionView } from './decider.js';
import { DEADMAN_LEAD_MS, DeadmanSwitch } from './deadman.js';
import { KernelFence } from './kernel-fence.js';
import { announce, scheduleGarp, type GarpSchedule } from './garp.js';
import {
  holderOf, joinLock, leaveLock, lockView, OwnerOfAnotherSession, previousTenure, publishOwner, readLock, readTenure, removeCandidates, removeEarlierSessions, tenureData, writeTenure,
} from '../../shared/zookeeper/lease.js';
import { addressLines, planGroups, type GroupAddress, type GroupPlan } from './plan.js';
import { judgeAddressChange } from './repair.js';
import { giveWayTo } from './hearing.js';
import type { HearingRecord } from '../../shared/zookeeper/hearing-record.js';
import { HearingBoard } from './hearing-board.js';
import { FailsafePeers, type FailsafeView } from './failsafe-peers.js';

/** A step needs ZooKeeper in a state that is coming (a session, the old owner node expiring): retried, not a fault. */
export class SessionChanging extends Error {}

interface Group {
  plan: GroupPlan;
  subject: string;
  /** The seq of the last event that changed this group's inputs (causation of what follows). */
  cause: number | undefined;
  candidate: { path: string; epoch: number } | undefined;
  lowest: LockHolder | undefined;
  /** The nodes with a candidate in the lock, in lock order, as last read. */
  waiting: string[];
  /** The epoch of the lease while we hold it (acquired, not yet left or lost). */
  held: number | undefined;
  /**
   * Bound under the lease of epoch; tenure: the epoch its vip.* records and tenure node carry
   * (the lease's, unless the lease was taken again after failsafe); failsafe: kept without a
   * lease on the peers' promises.
   */
  bound: { epoch: number; tenure: number; failsafe?: boolean } | undefined;
  /** Until when the addresses stay (the dead man's switch), as last recorded (keepLocally). */
  validUntil: number | undefined;
  /** When (unix ms) the addresses' kernel lifetime was last set. */
  lifetimeFrom: number;
  /** When the monitor saw the bound addresses vanish without us (lifetime ran out, dead man's switch), until they are back. */
  goneSeen: number | undefined;
  deadman: DeadmanSwitch;
  /** Where the group's lifetime is kept (the switch follows it). */
  lifetimeFile: string;
  /** Last holder reported in fence.lease_denied (reported once per holder). */
  deniedBy: LockHolder | undefined;
  correlation: string | undefined;
  garp: GarpSchedule | undefined;
  running: Promise<void> | undefined;
  again: boolean;
  retry: NodeJS.Timeout | undefined;
  /** Removed from the configuration by a reload: its lease is given up, then it is forgotten. */
  retiring: boolean;
}

export interface FenceServiceOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
  /** Where the lease deadline's margin is kept for the node's /metrics. */
  metrics?: MetricsRegistry;
}

const now = () => performance.now();
const RENEW_EVERY_MS = 200;
/**
 * The lease margin gauge moves when the margin moved this much (seconds): it differs at every
 * answered heartbeat by the round trip's jitter, and each change is a store of the service's
 * metrics (an idle fence would store them every METRICS_MS for that alone).
 */
const MARGIN_STEP_S = 0.01;

/** Until when (performance.now() time) the kernel fence lets a VIP answer under a lease deadline. */
const fenceUntil = (deadline: number) => deadline - KERNEL_SLACK_MS;
/**
 * When the dead man's switch removes a group's addresses (unix ms): when the kernel fence
 * stops them answering, and before the kernel's lifetime last set (at lifetimeFrom) could.
 */
const switchDeadline = (lifetimeFrom: number, deadline: number) =>
  Math.floor(Math.min(lifetimeFrom + ADDRESS_LIFETIME_S * 1000 - DEADMAN_LEAD_MS, Date.now() + fenceUntil(deadline) - now()));
/** How often a failed installation of the kernel fence is tried again. */
const KERNEL_FENCE_RETRY_MS = 5000;
/** The change of a group's first address whose echo a bind or unbind waits for. */
const echoKey = (g: { plan: GroupPlan }, change: AddressChange['change']) => `${g.plan.addresses[0]!.address}:${change}`;

const describe = (a: GroupAddress) => `${a.address}/${a.prefix} dev ${a.ifname}${a.label ? ` label ${a.label}` : ''}`;
/** An address as vip.* events carry it. */
const bound = (a: Pick<GroupAddress, 'address' | 'prefix' | 'ifname'>) => ({ address: a.address, prefix: a.prefix, interface: a.ifname });

export class FenceService {
  private groups: Group[];
  /** The configuration running now (a reload replaces it). */
  private config: VigilConfig;
  private readonly paths: ZkPaths;
  private readonly byAddress = new Map<string, { group: Group; address: GroupAddress }>();
  /** Whether each VIP should be on this node right now, as far as this service has acted: changes that disagree are someone else's. */
  private readonly expected = new Map<string, boolean>();
  private readonly instanceState = new Map<string, string>();
  /** Whose adverts each instance of this node hears (vrrp.hearing), published in ZooKeeper. */
  private readonly heard = new Map<string, HearingRecord['instances'][string]>();
  private readonly hearing: HearingBoard;
  /** zookeeper.failsafe: the peer channel, the promises given and collected (undefined: off, or the channel not open). */
  private failsafe: FailsafePeers | undefined;
  private failsafeRetry: NodeJS.Timeout | undefined;
  /** When (unix ms) the session was last lost: the failsafe's time without a coordinator. */
  private lostAt: number | undefined;
  private vrrpAlive = false;
  private vrrpWatch: LivenessWatch | undefined;
  private session: ZkSession | undefined;
  private subscription: Subscription | undefined;
  private watcher: AddressWatcher | undefined;
  private lastRenew = 0;
  private reportedMargin = -1;
  private stopping = false;
  private readonly kernel = new KernelFence();
  private kernelRetry: NodeJS.Timeout | undefined;
  private readonly kernelTrouble: (fields?: Record<string, unknown>) => void;
  /** The session whose beginning was looked at for free leases (sessionBegun). */
  private begun: string | undefined;

  /** The log is the record, not the control path: a failed append is reported, fencing goes on. */
  private readonly append: (e: NewEvent) => StoredEvent | undefined;
  private readonly lifetimeNotKept: (fields?: Record<string, unknown>) => void;
  private readonly echoWaiters = new Map<string, (at: number) => void>();
  private readonly renewalFailed: (fields?: Record<string, unknown>) => void;

  constructor(private readonly o: FenceServiceOptions) {
    this.append = recorder(o.log, o.logger);
    this.renewalFailed = throttledWarning(o.logger, 'address lifetime not renewed');
    this.kernelTrouble = throttledWarning(o.logger, 'kernel fence (nftables) failed: no VIP is bound until it works', 60_000, 'error');
    this.lifetimeNotKept = throttledWarning(o.logger, 'the addresses\' lifetime was not recorded (local log or ZooKeeper): outage figures may be less exact');
    this.paths = zkPaths(o.config);
    this.config = o.config;
    this.hearing = new HearingBoard({ paths: this.paths, node: o.node, logger: o.logger, changed: () => this.hearingChanged() });
    this.groups = planGroups(o.config, o.node).map((plan) => this.newGroup(plan));
    for (const g of this.groups) for (const a of g.plan.addresses) this.byAddress.set(a.address, { group: g, address: a });
  }

  private newGroup(plan: GroupPlan): Group {
    return {
      plan, subject: vipGroupSubject(plan.name), cause: undefined, candidate: undefined, lowest: undefined, waiting: [], held: undefined, bound: undefined, validUntil: undefined, lifetimeFrom: 0, goneSeen: undefined,
      deadman: new DeadmanSwitch((m) => this.o.logger.warn("dead man's switch", { group: plan.name, message: m })),
      lifetimeFile: lifetimePath(this.o.log.path, plan.name),
      deniedBy: undefined, correlation: undefined, garp: undefined, running: undefined, again: false, retry: undefined, retiring: false,
    };
  }

  /**
   * Applies a new configuration as a difference: a VIP group whose plan is the same is not
   * touched (its lease, its addresses, no GARP); a removed one gives its lease up (unbind,
   * then leave) and is forgotten; a new one joins as any group does at start; a changed one
   * does both, alone.
   */
  async reload(config: VigilConfig): Promise<ReloadChanges> {
    const next = new Map(planGroups(config, this.o.node).map((p) => [p.name, p]));
    const running = new Map(this.groups.map((g) => [g.plan.name, g]));
    const diff = diffByName(new Map([...running].map(([n, g]) => [n, g.plan])), next, sameJson);
    this.config = config;
    await Promise.all([...diff.removed, ...diff.changed].map((n) => this.retire(running.get(n)!)));
    const added = [...diff.changed, ...diff.added].map((n) => {
      const g = this.newGroup(next.get(n)!);
      this.groups.push(g);
      for (const a of g.plan.addresses) this.byAddress.set(a.address, { group: g, address: a });
      return g;
    });
    if (this.kernel.ready) {
      try {
        this.kernel.setVips(this.managedAddresses());
      } catch (err) {
        this.kernelFailed(err);
      }
    }
    const client = this.session?.current;
    for (const g of added) {
      this.readInstanceState(g);
      if (client) {
        try {
          await client.mkdirp(this.paths.lock(g.plan.name));
          await removeEarlierSessions(client, this.paths, g.plan.name, this.o.node);
        } catch (err) {
          this.o.logger.warn('cannot prepare the lock of a group added by a reload; its first step retries', { group: g.plan.name, err });
        }
      }
      void this.reconcile(g);
    }
    const label = (n: string) => `group ${n}`;
    return { added: diff.added.map(label), removed: diff.removed.map(label), changed: diff.changed.map(label), unchanged: diff.unchanged.map(label) };
  }

  /** Gives a group's lease up as a VRRP master stepping down would, then forgets the group. */
  private async retire(g: Group): Promise<void> {
    g.retiring = true;
    const until = Date.now() + 2 * this.config.zookeeper.session_timeout * 1000 + 5000;
    while ((g.bound || g.candidate || g.running) && Date.now() < until) {
      await this.reconcile(g);
      if (g.bound || g.candidate) await new Promise((r) => setTimeout(r, 100));
    }
    if (g.bound || g.candidate) this.o.logger.error('a removed VIP group did not give its lease up in time; its candidate goes with the session', { group: g.plan.name });
    clearTimeout(g.retry);
    g.deadman.close();
    this.groups = this.groups.filter((x) => x !== g);
    for (const a of g.plan.addresses) {
      if (this.byAddress.get(a.address)?.group === g) this.byAddress.delete(a.address);
    }
  }

  async start(): Promise<void> {
    const { log, config, logger } = this.o;
    // Until a session is established, this node cannot hold a lease (the vrrp service reads this).
    this.append({ type: 'fence.zk_state', source: 'fence', subject: nodeSubject(this.o.node), data: { state: 'lost', detail: 'fence service starting: no ZooKeeper session yet', service: 'starting' } });

    this.installKernelFence();
    this.watcher = watchAddresses((c) => this.observed(c), (m) => logger.warn(m));
    await this.removeUnheldAddresses();

    const rebuild = (upTo: number) => {
      for (const g of this.groups) this.readInstanceState(g, upTo);
      this.vrrpAlive = this.vrrpLiveness().alive;
      this.publishHearing();
    };
    this.subscription = await followLog(log, { logger, rebuild }, (batch) => this.onEvents(batch));
    this.vrrpWatch = new LivenessWatch({ log, service: 'vrrp', timeoutMs: () => this.config.fence.liveness_timeout * 1000, onRead: (h) => this.vrrpRead(h) });
    this.vrrpWatch.start();

    if (config.zookeeper.failsafe) await this.openFailsafe();

    this.session = new ZkSession({
      connectString: config.zookeeper.hosts.join(','),
      sessionTimeoutMs: config.zookeeper.session_timeout * 1000,
      minSessionTimeoutMs: MIN_SESSION_TIMEOUT_MS,
      heartbeatMs: fenceHeartbeatMs,
      logger,
      onSession: (client) => this.prepareSession(client),
      onState: (r) => this.onSessionState(r),
      onAck: () => this.onAck(),
      heartbeatRequest: (client) => this.heartbeat(client),
    });
    this.session.start();
  }

  /** The failsafe's peer channel; retried every few seconds while it cannot be opened (its address not up yet, say). */
  private async openFailsafe(): Promise<void> {
    const f = new FailsafePeers(this.config, this.o.node, {
      logger: this.o.logger, view: () => this.failsafeView(), confirmed: () => this.extendByFailsafe(), tick: () => this.failsafeTick(),
    });
    try {
      await f.start();
      this.failsafe = f;
      this.o.logger.info('failsafe peer channel open', { port: this.config.zookeeper.failsafe_port, peers: f.otherNodes, promise_ms: f.promiseMs, ask_ms: f.askMs });
      this.updateAsking();
    } catch (err) {
      f.stop();
      this.o.logger.error('failsafe: cannot open the peer channel; until it opens, this node keeps no VIP without ZooKeeper and promises nothing', { err, port: this.config.zookeeper.failsafe_port });
      if (!this.stopping) this.failsafeRetry = setTimeout(() => void this.openFailsafe(), KERNEL_FENCE_RETRY_MS);
    }
  }

  private failsafeView(): FailsafeView {
    return {
      zookeeper: this.session?.reachable ?? false,
      // (a lease held counts as bound: it may be binding now)
      bound: new Set(this.groups.filter((g) => g.bound || g.held !== undefined).map((g) => g.plan.name)),
      known: new Set(this.groups.map((g) => g.plan.name)),
    };
  }

  /**
   * Asks the other nodes while a group is bound, ZooKeeper or not: when the whole ensemble
   * goes, the promises are there before the lease deadline passes (the peers' sessions fail
   * as ours does, and a stall shows only as silence). They refuse while they reach ZooKeeper.
   */
  private updateAsking(): void {
    this.failsafe?.askFor(this.groups.filter((g) => g.bound).map((g) => g.plan.name));
  }

  /** Each ask round: groups kept under failsafe look again (their promises may have run out). */
  private failsafeTick(): void {
    for (const g of this.groups) if (g.bound?.failsafe) void this.reconcile(g);
  }

  /** Until when a group may stay bound: the lease's deadline or the peers' promises, whichever is later. */
  private deadlineOf(g: Group, leaseDeadline: number | undefined): number | undefined {
    const promised = this.failsafe?.deadline(g.plan.name).until;
    const lease = g.bound?.failsafe ? undefined : leaseDeadline;
    if (promised === undefined) return lease;
    return lease === undefined ? promised : Math.max(lease, promised);
  }

  /** New promises: the kernel fence, the dead man's switch and the lifetimes of the groups they let stay bound move with them. */
  private extendByFailsafe(): void {
    const state = this.session?.state;
    const leaseDeadline = state === 'lost' || state === 'expired' ? undefined : this.session?.deadline;
    for (const g of this.groups) {
      if (!g.bound || g.running) continue;
      const deadline = this.deadlineOf(g, leaseDeadline);
      if (deadline === undefined || deadline === leaseDeadline || !mayRenew(deadline - now())) continue;
      try {
        this.kernel.live(g.plan.addresses.map((a) => a.address), fenceUntil(deadline));
      } catch (err) {
        return this.kernelFailed(err);
      }
      this.renewLifetime(g, deadline);
    }
  }

  /** Gives every lease up in order (unbind, then leave), ends the session, and says so. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.subscription?.close();
    this.vrrpWatch?.stop();
    await Promise.all(this.groups.map((g) => this.reconcile(g)));
    for (const g of this.groups) clearTimeout(g.retry);
    clearTimeout(this.kernelRetry);
    clearTimeout(this.failsafeRetry);
    this.failsafe?.stop();
    if (this.kernel.ready && this.groups.every((g) => !g.bound)) {
      try {
        this.kernel.remove();
      } catch (err) {
        this.o.logger.warn('cannot remove the kernel fence\'s tables (they drop traffic only for VIPs not held here)', { err });
      }
    }
    this.session?.stop();
    this.watcher?.close();
    for (const g of this.groups) g.deadman.close();
    this.append({ type: 'fence.zk_state', source: 'fence', subject: nodeSubject(this.o.node), data: { state: 'lost', detail: 'fence service stopped', service: 'stopping' } });
  }

  // ---- facts ------------------------------------------------------------------------

  private vrrpLiveness() {
    return serviceLiveness(this.o.log, 'vrrp', this.config.fence.liveness_timeout * 1000);
  }

  private isMaster(g: Group): boolean {
    return !this.stopping && !g.retiring && this.kernel.ready && this.vrrpAlive && this.instanceState.get(g.plan.instance) === 'MASTER';
  }

  /** The instance's last state as recorded up to a seq (all of the log without one); its seq, if any. */
  private readInstanceState(g: Group, toSeq?: number): number | undefined {
    const [last] = this.o.log.query({ types: ['vrrp.state_changed'], subject: vrrpSubject(g.plan.instance), limit: 1, newest: true, ...(toSeq !== undefined ? { toSeq } : {}) });
    if (last && isEvent(last, 'vrrp.state_changed')) this.instanceState.set(g.plan.instance, last.data.to);
    if (toSeq !== undefined || !this.heard.has(g.plan.instance)) {
      const [hearing] = this.o.log.query({ types: ['vrrp.hearing'], subject: vrrpSubject(g.plan.instance), limit: 1, newest: true, ...(toSeq !== undefined ? { toSeq } : {}) });
      if (hearing && isEvent(hearing, 'vrrp.hearing')) this.heard.set(g.plan.instance, { address: hearing.data.address, hears: hearing.data.hears });
    }
    return last?.seq;
  }

  /** isMaster from the log as it is now (the instance's last recorded state and the vrrp pulse), not as last delivered. */
  private stillMaster(g: Group): boolean {
    try {
      this.readInstanceState(g);
      this.vrrpAlive = this.vrrpLiveness().alive;
    } catch (err) {
      this.o.logger.warn('cannot read the log before binding: going by the events delivered so far', { err });
    }
    return this.isMaster(g);
  }

  private notMasterReason(g: Group): string {
    if (this.stopping) return 'fence service stopping';
    if (g.retiring) return 'VIP group removed or changed by a configuration reload';
    if (!this.kernel.ready) return 'kernel fence (nftables) not installed';
    if (!this.vrrpAlive) return this.vrrpLiveness().detail;
    return `VRRP instance ${g.plan.instance} is ${this.instanceState.get(g.plan.instance) ?? 'not started'}, not MASTER`;
  }

  private facts(g: Group): GroupFacts {
    const state = this.session?.state ?? 'lost';
    const session: SessionView = state === 'expired' ? 'lost' : state;
    const deadline = this.session?.deadline;
    const master = this.isMaster(g);
    return {
      master,
      ...(master ? {} : { notMasterWhy: this.notMasterReason(g) }),
      session,
      leaseLeftMs: deadline === undefined || session === 'lost' ? 0 : Math.max(0, deadline - now()),
      candidate: g.candidate,
      lowest: g.lowest,
      bound: g.bound,
      ...(g.lowest?.ours ? this.giveWay(g) : {}),
      ...this.failsafeFacts(g),
    };
  }

  private failsafeFacts(g: Group): Pick<GroupFacts, 'failsafeLeftMs' | 'failsafeMissing' | 'promisedMs'> {
    const f = this.failsafe;
    if (!f) return {};
    const promisedMs = f.promisedMs(g.plan.name);
    if (!g.bound) return promisedMs > 0 ? { promisedMs } : {};
    const { until, missing } = f.deadline(g.plan.name);
    return { failsafeLeftMs: until === undefined ? 0 : Math.max(0, until - now()), ...(missing.length > 0 ? { failsafeMissing: missing.join(', ') } : {}), ...(promisedMs > 0 ? { promisedMs } : {}) };
  }

  /** Whether the directors most of them hear want the lease we hold (or are first in line for). */
  private giveWay(g: Group): { giveWay?: NonNullable<GroupFacts['giveWay']> } {
    const to = giveWayTo(this.o.node, Object.keys(this.config.nodes), this.hearing.views(g.plan.instance), g.waiting);
    return to ? { giveWay: to } : {};
  }

  /** Our instances' hearing, in ZooKeeper: none while the vrrp service is not alive (what it last said may be stale). */
  private publishHearing(): void {
    const instances = new Set(this.groups.map((g) => g.plan.instance));
    this.hearing.set(this.vrrpAlive ? Object.fromEntries([...this.heard].filter(([i]) => instances.has(i))) : {});
  }

  private hearingChanged(): void {
    for (const g of this.groups) if (g.lowest?.ours) void this.reconcile(g);
  }

  // ---- inputs -----------------------------------------------------------------------

  private onEvents(batch: StoredEvent[]): void {
    for (const e of batch) {
      if (isEvent(e, 'vrrp.hearing')) {
        this.heard.set(e.data.instance, { address: e.data.address, hears: e.data.hears });
        this.publishHearing();
        this.hearingChanged();
        continue;
      }
      if (!isEvent(e, 'vrrp.state_changed')) continue;
      const d = e.data;
      this.instanceState.set(d.instance, d.to);
      for (const g of this.groups) {
        if (g.plan.instance !== d.instance) continue;
        g.cause = e.seq;
        void this.reconcile(g);
      }
    }
  }

  private vrrpRead(h: Liveness): void {
    if (h.alive === this.vrrpAlive) return;
    this.vrrpAlive = h.alive;
    this.publishHearing();
    this.o.logger.info(h.alive ? 'vrrp service alive' : 'vrrp service not alive: its instances count as not MASTER', { detail: h.detail });
    for (const g of this.groups) void this.reconcile(g);
  }

  private async prepareSession(client: ZkClient): Promise<void> {
    await client.mkdirp(this.paths.nodes);
    for (const g of this.groups) await client.mkdirp(this.paths.lock(g.plan.name));
    const path = this.paths.node(this.o.node);
    await createOwnEphemeral(client, path, Buffer.from(JSON.stringify({ node: this.o.node, version: packageVersion(), pid: process.pid, since: new Date().toISOString(), session: client.sessionId })));
    this.beginHearing(client); // not on the way to the lease: it waits for nothing of it
    for (const g of this.groups) {
      if (g.bound && !g.bound.failsafe) continue; // its lease rests on the candidate it has
      try {
        const removed = await removeEarlierSessions(client, this.paths, g.plan.name, this.o.node);
        if (removed.length > 0) this.o.logger.info('removed what earlier sessions of this node left in the lock', { group: g.plan.name, removed });
      } catch (err) {
        // Only a shortcut: they go anyway when their session expires.
        this.o.logger.warn('cannot remove what earlier sessions of this node left in the lock', { group: g.plan.name, err });
      }
    }
    // Every lock is watched, candidate or not: a holder leaving it is news to its successor.
    for (const g of this.groups) if (!g.candidate) void this.refreshLock(g, client);
  }

  /** Our hearing record in the new session, and the others' read; tried again every second while the session lasts. */
  private beginHearing(client: ZkClient): void {
    this.hearing.begin(client).catch((err: unknown) => {
      this.o.logger.warn('cannot publish or read the hearing records; trying again', { err });
      setTimeout(() => {
        if (client === this.session?.current && !this.stopping) this.beginHearing(client);
      }, 1000);
    });
  }

  private onSessionState(r: SessionReport): void {
    const lost = r.state === 'lost' || r.state === 'expired';
    // Groups the peers' promises keep bound past the lease (zookeeper.failsafe): decided
    // before the state is recorded, which tells the vrrp service whether to stay MASTER.
    const keeping = lost ? this.groups.filter((g) => g.bound && !g.bound.failsafe && !g.running && failsafeHolds(this.failsafeFacts(g).failsafeLeftMs)) : [];
    if (lost && this.lostAt === undefined) this.lostAt = Date.now();
    if (r.state === 'connected' && !this.groups.some((g) => g.bound?.failsafe)) this.lostAt = undefined;
    const e = this.append({
      type: 'fence.zk_state', source: 'fence', subject: nodeSubject(this.o.node),
      data: {
        state: r.state, detail: r.detail,
        ...(lost && (keeping.length > 0 || this.groups.some((g) => g.bound?.failsafe)) ? { failsafe: true } : {}),
        ...(r.sessionId ? { session_id: r.sessionId } : {}),
        ...(r.sessionTimeoutMs !== undefined ? { session_timeout_ms: r.sessionTimeoutMs } : {}),
        ...(r.deadline !== undefined ? { deadline: r.deadline } : {}),
      },
    });
    this.o.logger.info('ZooKeeper session', { state: r.state, session: r.sessionId, detail: r.detail });
    const client = this.session?.current;
    if (r.state === 'connected' && client && r.sessionId === client.sessionId && this.begun !== r.sessionId) {
      this.begun = r.sessionId;
      void this.sessionBegun(client);
    }
    for (const g of this.groups) {
      g.cause = e?.seq ?? g.cause;
      if (lost) {
        // The candidate died with the session; the lease ended at the deadline.
        const kept = keeping.includes(g);
        if (g.held !== undefined) {
          this.append({ type: 'fence.lease_lost', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null, data: { group: g.plan.name, epoch: g.held, reason: `ZooKeeper session ${r.state}: ${r.detail}${kept ? '; the VIP is kept under failsafe' : ''}` } });
        }
        if (kept && g.bound) {
          g.bound.failsafe = true;
          const peers = [...(this.failsafe?.otherNodes ?? [])];
          this.o.logger.warn('ZooKeeper lost: VIP group kept under failsafe, every other node promised', { group: g.plan.name, peers });
          this.append({
            type: 'fence.failsafe', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
            data: { group: g.plan.name, state: 'holding', peers, epoch: g.bound.tenure, detail: `ZooKeeper session ${r.state}; ${peers.join(', ')} cannot reach ZooKeeper either and hold none of this group: kept on their promises`, without_coordinator_ms: Date.now() - this.lostAt! },
          });
        }
        g.candidate = undefined;
        g.lowest = undefined;
        g.held = undefined;
      }
      void this.reconcile(g);
    }
    this.updateAsking();
  }

  private onAck(): void {
    const deadline = this.session?.deadline;
    if (deadline !== undefined) {
      const margin = Math.max(0, deadline - now()) / 1000;
      if (Math.abs(margin - this.reportedMargin) >= MARGIN_STEP_S) {
        this.reportedMargin = margin;
        this.o.metrics?.set('vigil_lease_deadline_margin_seconds', {}, margin);
      }
      this.renewKernelFence(deadline);
    }
    for (const g of this.groups) if ((!g.bound || g.bound.failsafe) && g.lowest?.ours && this.isMaster(g)) void this.reconcile(g);
  }

  /**
   * Each session heartbeat: renews the bound addresses' lifetimes when the lease allows it,
   * and then is the request that tells ZooKeeper's tenure nodes until when they will be
   * there (one setData or multi, in place of the plain heartbeat: no extra request, and
   * written in the same instant as the renewal, so no crash can fall between the two).
   */
  private heartbeat(client: ZkClient): Promise<unknown> {
    const deadline = this.session?.deadline;
    const renewed = deadline !== undefined && mayRenew(deadline - now()) && now() - this.lastRenew >= RENEW_EVERY_MS ? this.renew(deadline) : [];
    if (renewed.length === 0) return client.exists('/');
    const ops = renewed.map((g) => ({ op: 'set' as const, path: this.paths.tenure(g.plan.name), data: tenureData(this.o.node, g.bound!.tenure, g.validUntil!) }));
    // One group (the usual case): a plain setData, which costs the client library less than a transaction of one.
    const request = ops.length === 1 ? client.setData(ops[0]!.path, ops[0]!.data) : client.multi(ops);
    return request.catch((err: unknown) => {
      // A tenure node that does not exist yet (the group's first bind) or was deleted by
      // hand is created. The error is still the server's answer: the session counts it.
      if (isZkError(err, 'NO_NODE')) for (const g of renewed) void this.writeTenure(g);
      throw err;
    });
  }

  /** A fresh kernel lifetime for every bound address; the groups renewed. */
  private renew(deadline: number): Group[] {
    const groups = this.renewable();
    if (groups.length === 0) return [];
    this.lastRenew = now();
    return groups.filter((g) => this.renewLifetime(g, this.deadlineOf(g, deadline) ?? deadline));
  }

  /** A bound group's addresses get a fresh kernel lifetime, their switch armed for `until`; false if the kernel refused. */
  private renewLifetime(g: Group, until: number): boolean {
    // The switch is armed (and the time recorded) before the lifetime is renewed, so the
    // kernel's end is always later than the switch's, which is when the addresses go.
    const before = g.lifetimeFrom;
    g.lifetimeFrom = Date.now();
    this.armSwitch(g, g.bound!.tenure, switchDeadline(g.lifetimeFrom, until));
    const failed = renewLifetimes(g.plan.addresses);
    this.watcher?.drain(); // the renewal's announcement, read now rather than in a wake-up of its own
    if (failed.length === 0) return true;
    this.renewalFailed({ group: g.plan.name, error: failed.join('; ') });
    g.lifetimeFrom = before;
    this.armSwitch(g, g.bound!.tenure, switchDeadline(before, until));
    return false;
  }

  /**
   * After an answered heartbeat: the bound groups' VIPs answer until the new lease deadline
   * (less the kernel's slack), and their dead man's switch moves with it.
   */
  private renewKernelFence(deadline: number): void {
    const groups = this.renewable();
    if (groups.length === 0 || !mayRenew(deadline - now())) return;
    // Groups the peers' failsafe promises keep longer than the lease keep that longer deadline.
    const byDeadline = new Map<number, Group[]>();
    for (const g of groups) {
      const d = this.deadlineOf(g, deadline) ?? deadline;
      byDeadline.set(d, [...(byDeadline.get(d) ?? []), g]);
    }
    for (const [until, list] of byDeadline) {
      try {
        this.kernel.live(list.flatMap((g) => g.plan.addresses.map((a) => a.address)), fenceUntil(until));
      } catch (err) {
        return this.kernelFailed(err);
      }
      for (const g of list) this.armSwitch(g, g.bound!.tenure, switchDeadline(g.lifetimeFrom, until));
    }
  }

  /** Bound groups that no bind or unbind is changing: what a renewal may touch. */
  private renewable(): Group[] {
    return this.groups.filter((g) => g.bound && !g.bound.failsafe && !g.running);
  }

  private managedAddresses(): string[] {
    return [...this.byAddress.keys()];
  }

  /** Installs the kernel fence (nothing live); until that works no group binds, and it is tried again every few seconds. */
  private installKernelFence(): void {
    clearTimeout(this.kernelRetry);
    try {
      this.kernel.install(this.managedAddresses());
      this.o.logger.info('kernel fence installed (nftables tables vigil_fence, families inet and arp)', { addresses: this.managedAddresses() });
    } catch (err) {
      this.kernelTrouble({ err });
      if (!this.stopping) this.kernelRetry = setTimeout(() => this.reinstallKernelFence(), KERNEL_FENCE_RETRY_MS);
    }
  }

  /** Installs the kernel fence afresh (nothing live), and every group looks again (unbinding while it is not there). */
  private reinstallKernelFence(): void {
    this.installKernelFence();
    for (const g of this.groups) void this.reconcile(g);
  }

  /** The kernel fence failed (its tables gone, say). */
  private kernelFailed(err: unknown): void {
    this.kernelTrouble({ err });
    this.reinstallKernelFence();
  }

  /** The group's addresses go at goneBy unless the switch is armed again before: armed, and that time kept locally. */
  private armSwitch(g: Group, epoch: number, goneBy: number): void {
    // The same deadline computed again (a lifetime renewal between two answered heartbeats)
    // differs by the jitter between the wall clock and the monotonic one: no need to wake
    // the switch and write the pulse for that.
    if (g.validUntil !== undefined && Math.abs(goneBy - g.validUntil) <= 1) return;
    // Recorded first: the switch follows the group's lifetime file, so a renewal is that write
    // alone; where it could not be written, the switch is told the time itself.
    const lines = addressLines('del', g.plan.addresses);
    if (this.keepLocally(g, epoch, goneBy)) g.deadman.follow(goneBy, lines, { file: g.lifetimeFile, epoch });
    else g.deadman.arm(goneBy, lines);
  }

  /**
   * Until when the group's addresses stay (or when they were removed), in the local log's
   * vip_lifetimes: a fence restarted after a crash reads it. Nothing that fences waits for it.
   */
  private keepLocally(g: Group, epoch: number, validUntil: number): boolean {
    g.validUntil = validUntil;
    try {
      this.o.log.setVipLifetime(g.plan.name, epoch, validUntil);
      return true;
    } catch (err) {
      this.lifetimeNotKept({ group: g.plan.name, err });
      return false;
    }
  }

  /** The group's tenure node in ZooKeeper (created if missing), as kept locally: at an unbind, or when the node is missing. Renewals go with the heartbeat. */
  private writeTenure(g: Group, goneAt?: number): Promise<void> {
    const client = this.session?.current;
    const epoch = g.bound?.tenure;
    if (!client || epoch === undefined || g.validUntil === undefined) return Promise.resolve();
    return writeTenure(client, this.paths, g.plan.name, { node: this.o.node, epoch, valid_until: g.validUntil, ...(goneAt !== undefined ? { gone_at: goneAt } : {}) })
      .catch((err: unknown) => this.lifetimeNotKept({ group: g.plan.name, err }));
  }

  // ---- the loop: one step at a time per group ---------------------------------------

  private reconcile(g: Group): Promise<void> {
    if (!this.groups.includes(g)) return Promise.resolve(); // forgotten after a reload removed it
    if (g.running) {
      g.again = true;
      return g.running;
    }
    clearTimeout(g.retry);
    g.running = this.run(g).finally(() => {
      g.running = undefined;
      this.updateAsking();
      // Asked again after the run's last look but before it ended (a later microtask):
      // that request must not be lost (it was, once: a MASTER the fence never acted on).
      if (g.again) void this.reconcile(g);
    });
    return g.running;
  }

  private async run(g: Group): Promise<void> {
    try {
      for (let steps = 0; steps < 50; steps++) {
        g.again = false;
        const step = nextStep(this.facts(g));
        if (step.kind === 'wait') {
          this.waiting(g, step);
          if (!g.again) return;
          continue;
        }
        await this.carryOut(g, step);
      }
      this.o.logger.warn('fence loop did not settle after 50 steps; trying again later', { group: g.plan.name });
    } catch (err) {
      // ZooKeeper going or coming back (a lost connection, a session not yet ours, the old
      // session's owner node still there until it expires) is expected and retried: a warning.
      const expected = isZkError(err) || err instanceof SessionChanging || err instanceof OwnerOfAnotherSession;
      this.o.logger[expected ? 'warn' : 'error']('fence step failed; retrying', { group: g.plan.name, err });
    }
    if (!this.stopping || g.bound || g.candidate) g.retry = setTimeout(() => void this.reconcile(g), 250);
  }

  private waiting(g: Group, step: Extract<FenceStep, { kind: 'wait' }>): void {
    if (step.retryMs !== undefined) {
      clearTimeout(g.retry);
      g.retry = setTimeout(() => void this.reconcile(g), step.retryMs);
    }
    const h = step.holder;
    if (!h || !g.candidate) return;
    if (g.deniedBy && g.deniedBy.node === h.node && g.deniedBy.epoch === h.epoch) return;
    g.deniedBy = h;
    this.o.logger.info('lease denied: held by another node', { group: g.plan.name, holder: h.node, epoch: h.epoch });
    this.append({
      type: 'fence.lease_denied', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
      data: { group: g.plan.name, epoch: g.candidate.epoch, holder: h.node, holder_epoch: h.epoch },
    });
  }

  private async carryOut(g: Group, step: Exclude<FenceStep, { kind: 'wait' }>): Promise<void> {
    switch (step.kind) {
      case 'unbind':
        return this.unbind(g, step.reason);
      case 'leave':
        return this.leave(g, step.reason);
      case 'join':
        return this.join(g);
      case 'bind':
        return this.bind(g, step.epoch);
      case 'give_way':
        return this.giveWayNow(g, step.to);
      case 'adopt':
        return this.adopt(g, step.epoch);
    }
  }

  private client(): ZkClient {
    const c = this.session?.current;
    if (!c) throw new SessionChanging('no ZooKeeper session');
    return c;
  }

  private async join(g: Group): Promise<void> {
    const client = this.client();
    const { path, epoch } = await joinLock(client, this.paths, g.plan.name, this.o.node);
    g.candidate = { path, epoch };
    g.correlation = `${g.subject}@${epoch}`;
    g.deniedBy = undefined;
    this.append({ type: 'fence.lease_candidate', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation, data: { group: g.plan.name, action: 'joined', candidate: path, epoch } });
    await this.readLock(g, client);
  }

  /** Reads the lock (and watches it), drops our candidates of earlier sessions, and finds the lowest. */
  private async readLock(g: Group, client: ZkClient): Promise<void> {
    const watch = () => {
      // (a group a reload removed is forgotten: its watch must not act on the lock its successor uses)
      if (client === this.session?.current && !this.stopping && this.groups.includes(g)) void this.refreshLock(g, client);
    };
    const candidates = await readLock(client, this.paths, g.plan.name, watch);
    const mine = g.candidate?.path.slice(g.candidate.path.lastIndexOf('/') + 1);
    const view = lockView(candidates, this.o.node, mine, g.bound !== undefined);
    if (view.stale.length > 0) {
      await removeCandidates(client, this.paths, g.plan.name, view.stale);
      this.o.logger.info('removed candidates of earlier sessions of this node', { group: g.plan.name, candidates: view.stale.map((c) => c.name) });
    }
    if (g.candidate && view.mineGone) {
      this.o.logger.warn('our lock candidate vanished', { group: g.plan.name, candidate: g.candidate.path });
      g.candidate = undefined;
    }
    const before = g.lowest;
    g.lowest = view.holder;
    g.waiting = candidates.filter((c) => !view.stale.includes(c)).map((c) => c.node);
    if (before && !before.ours && !view.holder && !g.candidate) await this.leaseFree(g, client, before);
  }

  /**
   * Nobody holds a group's lease and nobody is a candidate: another node's lease just ended
   * (previous), or this node's session begins with the lock empty (a start, ZooKeeper back).
   * The live node ranked first for the group's instance is named in fence.lease_free, on
   * which its vrrp service takes over without waiting for the master-down timer.
   */
  private async leaseFree(g: Group, client: ZkClient, previous?: LockHolder): Promise<void> {
    // At a session's beginning (ZooKeeper back, a start) the others may not have reconnected
    // yet: only the first node of the configuration goes at once, the rest wait for VRRP, so
    // that the VIP does not go to whichever node reconnects first and then move on preemption.
    const live = new Set(previous ? await client.getChildren(this.paths.nodes) : Object.keys(this.config.nodes));
    const contenders = Object.keys(this.config.nodes).map((node) => ({ node, priority: this.priorityOf(g, node), address: this.config.nodes[node]?.address }));
    const successor = successorOf(contenders, live, previous?.node);
    this.o.logger.info('lease free', { group: g.plan.name, previous, successor });
    this.append({
      type: 'fence.lease_free', source: 'fence', subject: g.subject, causation: null, correlation: previous ? `${g.subject}@${previous.epoch}` : null,
      data: { group: g.plan.name, instance: g.plan.instance, ...(previous ? { previous: { node: previous.node, epoch: previous.epoch } } : {}), ...(successor ? { successor } : {}) },
    });
  }

  /** A node's configured priority for the group's instance. */
  private priorityOf(g: Group, node: string): number {
    const vi = this.config.vrrp_instances[g.plan.instance];
    return vi?.nodes[node]?.priority ?? vi?.priority ?? 0;
  }

  /**
   * A new session's first answered heartbeat (the vrrp service leaves FAULT on it): a lock
   * found empty is a free lease; one held by a node this one outranks is said too, so that
   * a preempting vrrp service need not wait for the holder's next advert.
   */
  private async sessionBegun(client: ZkClient): Promise<void> {
    for (const g of this.groups) {
      if (g.candidate || g.bound) continue;
      // A failsafe promise still running: another node may hold the group's VIP without a lease.
      if ((this.failsafe?.promisedMs(g.plan.name) ?? 0) > 0) continue;
      try {
        const holder = holderOf(await readLock(client, this.paths, g.plan.name));
        if (g.candidate) continue;
        if (!holder) {
          await this.leaseFree(g, client);
          continue;
        }
        const [mine, theirs] = [this.priorityOf(g, this.o.node), this.priorityOf(g, holder.node)];
        if (holder.node === this.o.node || mine <= theirs) continue;
        this.append({
          type: 'fence.lease_outranked', source: 'fence', subject: g.subject, causation: null, correlation: null,
          data: { group: g.plan.name, instance: g.plan.instance, holder: { node: holder.node, epoch: holder.epoch }, holder_priority: theirs, priority: mine },
        });
      } catch (err) {
        this.o.logger.warn('cannot read the lock at the start of a session', { group: g.plan.name, err });
      }
    }
  }

  private async refreshLock(g: Group, client: ZkClient): Promise<void> {
    try {
      await this.readLock(g, client);
    } catch (err) {
      this.o.logger.warn('cannot read the lock', { group: g.plan.name, err });
    }
    await this.reconcile(g);
  }

  private async bind(g: Group, epoch: number): Promise<void> {
    const client = this.client();
    const { plan } = g;
    await publishOwner(client, this.paths, plan.name, g.candidate!.path, {
      node: this.o.node, epoch, since: new Date().toISOString(), addresses: plan.addresses.map(describe),
    });
    if (g.held !== epoch) {
      g.held = epoch;
      const previous = g.deniedBy;
      this.append({
        type: 'fence.lease_acquired', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
        data: { group: plan.name, epoch, ...(previous ? { previous: { node: previous.node, epoch: previous.epoch } } : {}) },
      });
    }
    const before = await readTenure(client, this.paths, plan.name).catch((err: unknown) => {
      this.o.logger.warn('cannot read the previous tenure: the outage figure of this bind will be missing', { group: plan.name, err });
      return undefined;
    });
    // The steps above waited for ZooKeeper: the instance may have stopped being MASTER
    // meanwhile (a stop of all the node's services), and its event may not have reached
    // this service yet. Look again, at the log itself, just before the addresses go on.
    if (!this.stillMaster(g)) return;
    const deadline = this.session?.deadline;
    if (deadline === undefined || !mayRenew(deadline - now())) throw new SessionChanging('too little lease left to bind; waiting for a heartbeat');
    // A failsafe promise given while the steps above waited (ZooKeeper went silent meanwhile) is kept.
    if ((this.failsafe?.promisedMs(plan.name) ?? 0) > 0) throw new SessionChanging('promised a failsafe holder not to bind yet');
    try {
      this.kernel.live(plan.addresses.map((a) => a.address), fenceUntil(deadline));
    } catch (err) {
      return this.kernelFailed(err);
    }
    for (const a of plan.addresses) this.expected.set(a.address, true);
    g.bound = { epoch, tenure: epoch };
    // The kernel fence lets the VIP answer, and the switch is armed, before the addresses go
    // on; ZooKeeper's tenure node learns its deadline with the next heartbeat (no request of
    // its own here: see heartbeat()). The bind is timed by the kernel's echo, as the old
    // holder's end was: the outage figure between them carries no process start-up latency.
    g.lifetimeFrom = Date.now();
    this.armSwitch(g, epoch, switchDeadline(g.lifetimeFrom, deadline));
    const { at: boundAt, failed } = await this.timedChange(g, 'added', () => ipBatch(addressLines('replace', plan.addresses)));
    if (failed.length > 0) {
      const why = failed.map((f) => `${describe(plan.addresses[f.line]!)}: ${f.message}`).join('; ');
      await this.unbind(g, `cannot add addresses: ${why}`);
      throw new Error(`cannot bind VIP group ${plan.name}: ${why}`);
    }
    g.garp = scheduleGarp(plan.addresses.map((a) => ({ ifname: a.ifname, address: a.address })), plan.garp, (errors) => this.o.logger.warn('gratuitous ARP not sent', { group: plan.name, errors }));
    this.o.logger.info('VIP group bound', { group: plan.name, epoch });
    const previous = previousTenure(before, epoch, boundAt);
    this.append({
      type: 'vip.bound', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null, ts: boundAt,
      data: { group: plan.name, epoch, addresses: plan.addresses.map(bound), valid_lft_s: ADDRESS_LIFETIME_S, ...(previous ? { previous } : {}), bound_at: Math.round(boundAt) },
    });
  }

  private async unbind(g: Group, reason: string): Promise<void> {
    const { plan } = g;
    if (g.bound?.failsafe) {
      const without = this.lostAt === undefined ? undefined : Date.now() - this.lostAt;
      this.append({
        type: 'fence.failsafe', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
        data: { group: plan.name, state: 'released', peers: [...(this.failsafe?.otherNodes ?? [])], epoch: g.bound.tenure, detail: reason, ...(without !== undefined ? { without_coordinator_ms: without } : {}) },
      });
    }
    g.garp?.cancel();
    g.garp = undefined;
    try {
      this.kernel.withdraw(plan.addresses.map((a) => a.address)); // no longer answering, at once
    } catch (err) {
      this.kernelFailed(err); // installed afresh: nothing live
    }
    g.deadman.disarm();
    for (const a of plan.addresses) this.expected.set(a.address, false);
    const removal = await this.timedChange(g, 'removed', () => ipBatch(addressLines('del', plan.addresses)));
    const { failed } = removal;
    // Not there: already gone (kernel lifetime, someone else); that is fine.
    const real = failed.filter((f) => !addressWasAbsent(f.message));
    // Gone already (the lifetime ran out first, as it does when the lease deadline passes): then, not now.
    // The monitor's time when it saw them go, else the end of their lifetime if that came first.
    const alreadyGone = failed.length > 0 && real.length === 0;
    const how = !alreadyGone ? 'removed' : g.goneSeen !== undefined ? 'vanished' : 'expired';
    const goneAt = Math.round(how === 'removed' ? removal.at : how === 'vanished' ? g.goneSeen! : g.validUntil !== undefined ? Math.min(removal.at, g.validUntil) : removal.at);
    g.goneSeen = undefined;
    if (real.length > 0) this.o.logger.error('cannot remove addresses', { group: plan.name, failed: real.map((f) => `${describe(plan.addresses[f.line]!)}: ${f.message}`) });
    const epoch = g.bound?.tenure ?? 0;
    if (g.bound) {
      this.keepLocally(g, epoch, goneAt);
      // Not waited for: ZooKeeper handles a session's requests in order, so the next holder,
      // which binds only after our candidate is deleted (later), reads this end.
      void this.writeTenure(g, goneAt);
    }
    const wasFailsafe = g.bound?.failsafe === true;
    g.bound = undefined;
    if (wasFailsafe && this.session?.state !== 'connected' && !this.groups.some((x) => x.bound?.failsafe)) {
      // Nothing is kept under failsafe any more: without a session, this node's VRRP goes FAULT as it would have.
      this.append({ type: 'fence.zk_state', source: 'fence', subject: nodeSubject(this.o.node), data: { state: 'lost', detail: `failsafe ended: ${reason}`.slice(0, 1024) } });
    }
    this.o.logger.info('VIP group unbound', { group: plan.name, epoch, reason });
    this.append({
      type: 'vip.unbound', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null, ts: goneAt,
      data: { group: plan.name, epoch, addresses: plan.addresses.map(bound), reason, gone_at: goneAt, how },
    });
  }

  /**
   * ZooKeeper is back and our new candidate is the lowest: the group kept under failsafe is
   * under a lease again, its addresses untouched (its tenure goes on; only the lease's epoch is new).
   */
  private async adopt(g: Group, epoch: number): Promise<void> {
    const client = this.client();
    const { plan } = g;
    await publishOwner(client, this.paths, plan.name, g.candidate!.path, {
      node: this.o.node, epoch, since: new Date().toISOString(), addresses: plan.addresses.map(describe),
    });
    const deadline = this.session?.deadline;
    if (!g.bound?.failsafe || deadline === undefined || !mayRenew(deadline - now())) throw new SessionChanging('too little lease left to take the failsafe group under it; waiting for a heartbeat');
    g.held = epoch;
    this.append({ type: 'fence.lease_acquired', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null, data: { group: plan.name, epoch } });
    const tenure = g.bound.tenure;
    g.bound = { epoch, tenure };
    const without = this.lostAt === undefined ? undefined : Date.now() - this.lostAt;
    if (!this.groups.some((x) => x.bound?.failsafe)) this.lostAt = undefined;
    this.o.logger.info('failsafe ended: the VIP group is under a lease again', { group: plan.name, epoch, without_coordinator_ms: without });
    this.append({
      type: 'fence.failsafe', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
      data: { group: plan.name, state: 'ended', peers: [...(this.failsafe?.otherNodes ?? [])], epoch: tenure, detail: `ZooKeeper back: the lease taken again (epoch ${epoch}) without unbinding`, ...(without !== undefined ? { without_coordinator_ms: without } : {}) },
    });
    const leaseDeadline = this.deadlineOf(g, deadline)!;
    try {
      this.kernel.live(plan.addresses.map((a) => a.address), fenceUntil(leaseDeadline));
    } catch (err) {
      return this.kernelFailed(err);
    }
    this.armSwitch(g, tenure, switchDeadline(g.lifetimeFrom, leaseDeadline));
    void this.writeTenure(g);
    this.updateAsking();
  }

  /** Recorded first (why), then unbound and out of the lock; rejoined behind the one it gave way to while still MASTER. */
  private async giveWayNow(g: Group, to: NonNullable<GroupFacts['giveWay']>): Promise<void> {
    const epoch = g.bound?.epoch ?? g.candidate!.epoch;
    this.o.logger.warn('giving the lease up to a director the others hear', { group: g.plan.name, epoch, to: to.to, heard_by: to.heardBy });
    const e = this.append({
      type: 'fence.gave_way', source: 'fence', subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null,
      data: { group: g.plan.name, epoch, to: to.to, heard_by: to.heardBy, directors: to.directors },
    });
    g.cause = e?.seq ?? g.cause; // the unbind and the leave that follow are its doing
    if (g.bound) await this.unbind(g, to.why);
    await this.leave(g, to.why);
  }

  private async leave(g: Group, reason: string): Promise<void> {
    const c = g.candidate!;
    await leaveLock(this.client(), this.paths, g.plan.name, c.path);
    const data = { group: g.plan.name, epoch: c.epoch };
    const meta = { source: 'fence' as const, subject: g.subject, causation: g.cause ?? null, correlation: g.correlation ?? null };
    this.append({ type: 'fence.lease_candidate', ...meta, data: { ...data, action: 'left', candidate: c.path } });
    if (g.held !== undefined) this.append({ type: 'fence.lease_lost', ...meta, data: { ...data, reason: `given up: ${reason}` } });
    g.candidate = undefined;
    g.lowest = undefined;
    g.held = undefined;
    g.deniedBy = undefined;
  }

  // ---- what others do to our interfaces ---------------------------------------------

  /**
   * At start-up this node holds no lease, so no VIP of ours may be on its interfaces. A
   * tenure the log shows open (the fence crashed or was killed while bound) is closed here,
   * with when its addresses were really gone: now if they were still there, else when the
   * kernel dropped them (the lifetime last renewed, from vip_lifetimes).
   */
  private async removeUnheldAddresses(): Promise<void> {
    for (const a of this.byAddress.keys()) this.expected.set(a, false);
    const present = (await allIpv4Addresses()).filter((a) => this.byAddress.has(a.address));
    const { failed } = present.length > 0 ? await ipBatch(addressLines('del', present)) : { failed: [] };
    for (const f of failed.filter((x) => !addressWasAbsent(x.message))) this.o.logger.error('cannot remove a VIP at start-up', { address: present[f.line]?.address, error: f.message });
    const goneAt = Date.now();
    for (const g of this.groups) {
      const list = present.filter((a) => this.byAddress.get(a.address)!.group === g);
      // A tenure the log shows open (bound, never unbound): this fence ended while bound.
      const [last] = this.o.log.query({ types: ['vip.bound', 'vip.unbound'], subject: g.subject, limit: 1, newest: true });
      const open = last && isEvent(last, 'vip.bound') ? { epoch: last.data.epoch, correlation: last.correlation } : undefined;
      const meta = { source: 'fence' as const, subject: g.subject, correlation: open?.correlation ?? null };
      if (list.length > 0) {
        this.append({ type: 'vip.unbound', ...meta, ts: goneAt, data: { group: g.plan.name, epoch: open?.epoch ?? 0, addresses: list.map(bound), reason: 'start-up: this node holds no lease', gone_at: goneAt, how: 'removed' } });
        continue;
      }
      if (!open) continue;
      const lifetime = this.o.log.vipLifetime(g.plan.name);
      const known = lifetime && lifetime.epoch === open.epoch ? Math.min(lifetime.valid_until, goneAt) : undefined;
      this.append({
        type: 'vip.unbound', ...meta,
        data: {
          group: g.plan.name, epoch: open.epoch, addresses: g.plan.addresses.map(bound),
          reason: known !== undefined
            ? 'found gone at start-up: the kernel dropped the addresses when their lifetime ran out (the fence was not running to renew it)'
            : 'found gone at start-up, at an unknown time (no lifetime was recorded for this tenure)',
          ...(known !== undefined ? { gone_at: known, how: 'expired' as const } : {}),
        },
      });
    }
  }

  /** Our own change, as the kernel made it: its time is when it took effect, for a waiting bind or unbind. */
  private echoed(g: Group, c: AddressChange): void {
    if (c.address !== g.plan.addresses[0]?.address) return; // one per group is enough
    const key = echoKey(g, c.change);
    const waiter = this.echoWaiters.get(key);
    if (waiter) {
      this.echoWaiters.delete(key);
      waiter(c.at);
    }
  }

  /**
   * Runs an address change and resolves with when it took effect: its echo, which the kernel
   * sent the monitor before ip even exited, so it is read in the same turn of the event loop
   * as ip's exit, or the next; failing that, when it was started. Nothing waits longer: a
   * bind's gratuitous ARP and an unbind's release of the lease must not.
   */
  private async timedChange(g: Group, change: 'added' | 'removed', run: () => Promise<{ failed: { line: number; message: string }[] }>): Promise<{ at: number; failed: { line: number; message: string }[] }> {
    const started = Date.now();
    const key = echoKey(g, change);
    let echo: number | undefined;
    this.echoWaiters.set(key, (at) => (echo = at));
    const result = await run();
    if (echo === undefined && result.failed.length === 0) await new Promise((r) => setImmediate(r));
    this.echoWaiters.delete(key);
    return { at: echo ?? started, failed: result.failed };
  }

  private observed(c: AddressChange): void {
    const entry = this.byAddress.get(c.address);
    if (!entry) return;
    const { group: g, address } = entry;
    const verdict = judgeAddressChange({
      change: c.change, expected: this.expected.get(c.address) ?? false, session: this.session?.state, changing: g.running !== undefined, bound: g.bound !== undefined,
      leaseLeftMs: this.session?.deadline === undefined ? 0 : this.session.deadline - now(),
    });
    if (c.change === 'added') g.goneSeen = undefined;
    if (verdict.kind === 'echo') return this.echoed(g, c);
    const repaired = verdict.kind !== 'leave';
    if (!repaired && c.change === 'removed' && g.bound) g.goneSeen ??= c.at;
    this.o.logger.warn('VIP changed by someone else', { group: g.plan.name, address: c.address, interface: c.ifname, change: c.change, repaired, detail: verdict.detail });
    this.append({
      type: 'fence.address_observed', source: 'fence', subject: g.subject, causation: null, correlation: g.correlation ?? null,
      data: { group: g.plan.name, address: c.address, interface: c.ifname, change: c.change, repaired, detail: verdict.detail },
    });
    if (verdict.kind === 'remove') {
      void ipBatch(addressLines('del', [{ ...c, label: undefined }])).then(({ failed }) => {
        const real = failed.filter((f) => !addressWasAbsent(f.message));
        if (real.length > 0) this.o.logger.error('cannot remove a foreign VIP', { address: c.address, error: real[0]!.message });
      });
    } else if (verdict.kind === 'restore') {
      void ipBatch(addressLines('replace', [address])).then(({ failed }) => {
        if (failed.length > 0) this.o.logger.error('cannot restore a VIP', { address: c.address, error: failed[0]!.message });
        else announce([{ ifname: address.ifname, address: address.address }], g.plan.garp.repeat);
      });
    }
  }
}
