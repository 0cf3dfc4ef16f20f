// vigil's tree in ZooKeeper (readable with zkCli.sh): /<root>/<cluster>/nodes/<node>
// (ephemeral, kept by each node's fence service), /<root>/<cluster>/relays/<node>
// (ephemeral, kept by each node's relay: who delivers that node's events and alerts), /<root>/<cluster>/vips/<group>/lock
// (ephemeral-sequential candidates: the lowest holds the lease, its sequence number is the
// epoch), .../owner (the holder's JSON) and .../tenure (persistent: the last holder's
// node, epoch and when its addresses are gone, see services/fence/lease.ts). The fence
// service writes it; the relay and operators read it.
import type { VigilConfig } from '../config/index.js';
import type { ZkClient } from './client.js';

export function zkPaths(config: Pick<VigilConfig, 'zookeeper' | 'cluster'>) {
  const base = `${config.zookeeper.root}/${config.cluster}`;
  return {
    base,
    nodes: `${base}/nodes`,
    node: (node: string) => `${base}/nodes/${node}`,
    relays: `${base}/relays`,
    relay: (node: string) => `${base}/relays/${node}`,
    lock: (group: string) => `${base}/vips/${group}/lock`,
    owner: (group: string) => `${base}/vips/${group}/owner`,
    tenure: (group: string) => `${base}/vips/${group}/tenure`,
  };
}
export type ZkPaths = ReturnType<typeof zkPaths>;

export interface Candidate {
  name: string;
  node: string;
  epoch: number;
}

/** Lock candidates are named "c-<node>-<10-digit sequence>"; the sequence is the epoch (fencing token). */
export function parseCandidate(name: string): { node: string; epoch: number } | undefined {
  const m = /^c-([A-Za-z0-9][A-Za-z0-9_.-]*)-(\d{10})$/.exec(name);
  return m ? { node: m[1]!, epoch: Number(m[2]) } : undefined;
}

/** The candidates, lowest epoch first (names that are not candidates are ignored); watch fires once at the next change. */
export async function readLock(client: ZkClient, paths: ZkPaths, group: string, watch?: () => void): Promise<Candidate[]> {
  const names = await client.getChildren(paths.lock(group), watch);
  return names
    .flatMap((name) => {
      const c = parseCandidate(name);
      return c ? [{ name, ...c }] : [];
    })
    .sort((a, b) => a.epoch - b.epoch);
}
