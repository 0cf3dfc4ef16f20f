// What the relay watches in ZooKeeper for the cluster's alerts: which nodes are alive
// (their fence service's ephemeral node) and who holds each VIP group's lease (the lowest
// lock candidate). Each change is recorded as an observation in this node's log, naming
// the speaker: the first live node in name order, whose relay alone raises alerts about
// the cluster. A lost session is reported and retried by ZkSession; changes made while it
// was away are recorded at the next read.
import type { VigilConfig } from '../../shared/config/index.js';
import { isEvent, nodeSubject, vipGroupSubject, type EventLog } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { recorder } from '../../shared/service.js';
import type { ZkClient } from '../../shared/zookeeper/client.js';
import { zkPaths, type ZkPaths } from '../../shared/zookeeper/layout.js';
import { holderOf, readLock } from '../../shared/zookeeper/lease.js';
import { createOwnEphemeral } from '../../shared/zookeeper/nodes.js';
import { ZkSession } from '../../shared/zookeeper/session.js';

type Holder = { node: string; epoch: number } | null;

/**
 * The relay holds no lease: its session keeps its watches (they fire at once, whatever the
 * timeout) and its /relays node, which outlives a dead relay by the timeout (relay_gone
 * comes that late). At the fence's timeout its pings, a third of it apart, were all an idle
 * relay did (0.12 % of a core at 2 s).
 */
const RELAY_SESSION_TIMEOUT_MS = 6000;

export interface ClusterObserverOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

export class ClusterObserver {
  private readonly paths: ZkPaths;
  private readonly append;
  private readonly groups: string[];
  private readonly holders = new Map<string, Holder>();
  /** Live nodes at the last read (undefined before the first: that read is the baseline). */
  private live: Set<string> | undefined;
  /** Nodes whose relay is alive, at the last read (likewise). */
  private relays: Set<string> | undefined;
  private session: ZkSession | undefined;
  private client: ZkClient | undefined;
  private stopped = false;

  constructor(private readonly o: ClusterObserverOptions) {
    this.paths = zkPaths(o.config);
    this.append = recorder(o.log, o.logger);
    this.groups = Object.keys(o.config.vip_groups);
  }

  start(): void {
    for (const g of this.groups) {
      const [last] = this.o.log.query({ types: ['relay.lease_observed'], subject: vipGroupSubject(g), newest: true, limit: 1 });
      this.holders.set(g, last && isEvent(last, 'relay.lease_observed') ? last.data.holder : null);
    }
    const { zookeeper } = this.o.config;
    this.session = new ZkSession({
      connectString: zookeeper.hosts.join(','),
      sessionTimeoutMs: Math.max(zookeeper.session_timeout * 1000, RELAY_SESSION_TIMEOUT_MS),
      // It holds no lease: a third of the timeout, as ZooKeeper's own clients ping.
      heartbeatMs: (timeout) => timeout / 3,
      logger: this.o.logger,
      onSession: (client) => this.onSession(client),
      onState: (r) => {
        if (r.state !== 'connected') this.o.logger.warn('ZooKeeper session not usable; cluster alerts wait for it', { state: r.state, detail: r.detail });
      },
    });
    this.session.start();
  }

  stop(): void {
    this.stopped = true;
    this.session?.stop();
  }

  private async onSession(client: ZkClient): Promise<void> {
    this.client = client;
    await client.mkdirp(this.paths.nodes);
    await client.mkdirp(this.paths.relays);
    for (const g of this.groups) await client.mkdirp(this.paths.lock(g));
    await this.announce(client);
    await this.readNodes(client);
    await this.readRelays(client);
    for (const g of this.groups) await this.readGroup(client, g, 'session_start');
  }

  /** This relay's ephemeral node: the other relays alert when it vanishes (this node's alerting is gone). */
  private async announce(client: ZkClient): Promise<void> {
    const path = this.paths.relay(this.o.node);
    await createOwnEphemeral(client, path, Buffer.from(JSON.stringify({ node: this.o.node, pid: process.pid, since: new Date().toISOString() })));
  }

  private async readRelays(client: ZkClient): Promise<void> {
    const now = new Set(await client.getChildren(this.paths.relays, () => this.again(client, () => this.readRelays(client))));
    const before = this.relays;
    this.relays = now;
    if (!before) return;
    // Raised by the first live relay in name order other than the one it is about (which
    // cannot speak for itself while gone, and does not see its own return).
    const speaker = (about: string) => [...now].filter((n) => n !== about).sort()[0] ?? this.o.node;
    for (const n of before) if (!now.has(n) && n !== this.o.node) this.record(n, 'left', speaker(n), 'relay');
    for (const n of now) if (!before.has(n) && n !== this.o.node) this.record(n, 'joined', speaker(n), 'relay');
  }

  /** Runs a read again after a watch fired, while its session is the current one. */
  private again(client: ZkClient, read: () => Promise<void>): void {
    if (this.stopped || client !== this.client) return;
    read().catch((err: unknown) => this.o.logger.warn('cannot read ZooKeeper after a change; the next session reads again', { err }));
  }

  private get speaker(): string {
    return [...(this.live ?? [])].sort()[0] ?? this.o.node;
  }

  private async readNodes(client: ZkClient): Promise<void> {
    const names = await client.getChildren(this.paths.nodes, () => this.again(client, () => this.readNodes(client)));
    const now = new Set(names);
    const before = this.live;
    this.live = now;
    if (!before) return;
    const speaker = this.speaker;
    for (const n of before) if (!now.has(n)) this.record(n, 'left', speaker);
    for (const n of now) if (!before.has(n)) this.record(n, 'joined', speaker);
  }

  private record(node: string, change: 'joined' | 'left', speaker: string, service?: 'relay'): void {
    this.o.logger.info(`${service ?? 'node'} ${change} ZooKeeper`, { node, speaker });
    this.append({ type: 'relay.node_changed', source: 'relay', subject: nodeSubject(node), data: { node, change, speaker, ...(service ? { service } : {}) } });
  }

  /** how: a watch fired (the change as it happened), or a session's first read (a change that may be long past). */
  private async readGroup(client: ZkClient, group: string, how: 'watch' | 'session_start'): Promise<void> {
    const candidates = await readLock(client, this.paths, group, () => this.again(client, () => this.readGroup(client, group, 'watch')));
    const low = holderOf(candidates);
    const holder: Holder = low ? { node: low.node, epoch: low.epoch } : null;
    const previous = this.holders.get(group) ?? null;
    if (holder?.node === previous?.node && holder?.epoch === previous?.epoch) return;
    this.holders.set(group, holder);
    this.append({ type: 'relay.lease_observed', source: 'relay', subject: vipGroupSubject(group), data: { group, holder, previous, speaker: this.speaker, seen: how } });
  }
}
