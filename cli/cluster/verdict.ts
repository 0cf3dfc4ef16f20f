// Whether a node and its cluster are well (pure): the node's view of its log and what
// ZooKeeper says, in, a level and the problems behind it, out. Critical: this node cannot
// do its part (a service dead, no ZooKeeper, an instance in FAULT) or a VIP group has no
// holder. Degraded: it works, with less margin (a peer gone, a lease refused, a check or
// tracked condition failing, events waiting for NATS).
import type { Znode } from './zk-tree.js';
import type { NodeView } from './node-view.js';
import { parseCandidate } from '../../shared/zookeeper/lease.js';

export type Level = 'ok' | 'degraded' | 'critical';
export const EXIT_STATUS: Record<Level, number> = { ok: 0, degraded: 1, critical: 2 };

export interface ClusterView {
  reachable: boolean;
  error: string | null;
  /** Nodes whose fence has a session (their ephemeral node). */
  nodes: string[];
  relays: string[];
  groups: { group: string; holder: { node: string; epoch: number; since: string | null } | null; waiting: { node: string; epoch: number }[]; bound: { node: string; addresses: string[] } | null }[];
}

export interface Problem {
  level: Exclude<Level, 'ok'>;
  text: string;
}

/** The cluster as ZooKeeper's tree says (readTree's znodes). */
export function clusterFromTree(base: string, tree: readonly Znode[], groups: readonly string[]): ClusterView {
  const under = (prefix: string) => tree.filter((z) => z.path.startsWith(`${prefix}/`) && !z.path.slice(prefix.length + 1).includes('/')).map((z) => ({ name: z.path.slice(prefix.length + 1), z }));
  const json = (z: Znode | undefined): Record<string, unknown> => {
    try {
      const v: unknown = z ? JSON.parse(z.data) : undefined;
      return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  return {
    reachable: true,
    error: null,
    nodes: under(`${base}/nodes`).map((x) => x.name).sort(),
    relays: under(`${base}/relays`).map((x) => x.name).sort(),
    groups: groups.map((group) => {
      const candidates = under(`${base}/vips/${group}/lock`)
        .flatMap(({ name, z }) => {
          const c = parseCandidate(name);
          const since = json(z).since;
          return c ? [{ ...c, since: typeof since === 'string' ? since : null }] : [];
        })
        .sort((a, b) => a.epoch - b.epoch);
      const [low, ...rest] = candidates;
      const owner = json(tree.find((z) => z.path === `${base}/vips/${group}/owner`));
      return {
        group,
        holder: low ? { node: low.node, epoch: low.epoch, since: low.since } : null,
        waiting: rest.map((c) => ({ node: c.node, epoch: c.epoch })),
        bound: typeof owner.node === 'string' ? { node: owner.node, addresses: Array.isArray(owner.addresses) ? owner.addresses.map(String) : [] } : null,
      };
    }),
  };
}

export function unreachable(error: string): ClusterView {
  return { reachable: false, error, nodes: [], relays: [], groups: [] };
}

export function verdict(node: NodeView, cluster: ClusterView, configuredNodes: readonly string[]): { level: Level; problems: Problem[] } {
  const problems: Problem[] = [];
  const critical = (text: string) => problems.push({ level: 'critical', text });
  const degraded = (text: string) => problems.push({ level: 'degraded', text });

  for (const s of node.services) {
    if (s.state === 'silent') critical(`${s.service} service not alive: last heartbeat ${((s.age_ms ?? 0) / 1000).toFixed(1)} s ago (pid ${s.pid})`);
    if (s.state === 'stopped') critical(`${s.service} service stopped (pid ${s.pid} recorded its stop)`);
  }
  if (!cluster.reachable) critical(`ZooKeeper unreachable from here: ${cluster.error}`);
  if (node.zk && (node.zk.state === 'lost' || node.zk.state === 'expired')) critical(`the fence's ZooKeeper session is ${node.zk.state}${node.zk.detail ? ` (${node.zk.detail})` : ''}: this node holds no lease`);
  if (node.zk?.state === 'suspended') degraded('the fence\'s ZooKeeper session is suspended: its lease deadline is running');
  for (const i of node.instances) {
    if (i.state === 'FAULT') critical(`${i.name} is in FAULT${i.detail ? `: ${i.detail}` : ''}`);
    for (const d of i.deductions) degraded(`${i.name}: ${d.name} failing (priority ${d.weight > 0 ? '+' : ''}${d.weight})${d.reason ? `: ${d.reason}` : ''}`);
  }
  for (const g of cluster.groups) {
    if (!g.holder) critical(`VIP group ${g.group} has no holder: no node is MASTER with the lease`);
    for (const w of g.waiting) degraded(`VIP group ${g.group}: ${w.node} is VRRP MASTER and waits for the lease held by ${g.holder?.node ?? 'nobody'} (epoch ${w.epoch})`);
  }
  for (const g of node.groups) {
    if (g.denied && !cluster.groups.some((c) => c.group === g.group && c.waiting.length > 0)) degraded(`VIP group ${g.group}: lease denied to this node (held by ${g.denied.holder}, epoch ${g.denied.holder_epoch})`);
  }
  if (cluster.reachable) {
    for (const n of configuredNodes) if (!cluster.nodes.includes(n)) degraded(`node ${n} is not alive in ZooKeeper (no fence session)`);
  }
  if (node.health && node.health.down > 0) degraded(`${node.health.down} of ${node.health.total} checks down (see vigil health --down)`);
  if (node.relay.last_failure) degraded(`the relay cannot deliver to NATS: ${node.relay.last_failure.error} (${node.relay.backlog ?? 0} events waiting)`);
  const level: Level = problems.some((p) => p.level === 'critical') ? 'critical' : problems.length > 0 ? 'degraded' : 'ok';
  return { level, problems };
}
