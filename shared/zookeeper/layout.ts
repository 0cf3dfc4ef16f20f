// vigil's tree in ZooKeeper (readable with zkCli.sh): /<root>/<cluster>/nodes/<node>
// (ephemeral, kept by each node's fence service), /<root>/<cluster>/relays/<node>
// (ephemeral, kept by each node's relay: who delivers that node's events and alerts),
// /<root>/<cluster>/hearing/<node> (ephemeral, kept by each node's fence: whose VRRP adverts
// each of its instances hears, services/fence/hearing.ts), /<root>/<cluster>/vips/<group>/lock
// (ephemeral-sequential candidates: the lowest holds the lease, its sequence number is the
// epoch), .../owner (the holder's JSON) and .../tenure (persistent: the last holder's
// node, epoch and when its addresses are gone). The lease recipe on this tree is
// lease.ts; the fence service writes it, the relay and operators read it.
import type { VigilConfig } from '../config/index.js';

export function zkPaths(config: Pick<VigilConfig, 'zookeeper' | 'cluster'>) {
  const base = `${config.zookeeper.root}/${config.cluster}`;
  return {
    base,
    nodes: `${base}/nodes`,
    node: (node: string) => `${base}/nodes/${node}`,
    relays: `${base}/relays`,
    hearing: `${base}/hearing`,
    hearingOf: (node: string) => `${base}/hearing/${node}`,
    relay: (node: string) => `${base}/relays/${node}`,
    lock: (group: string) => `${base}/vips/${group}/lock`,
    owner: (group: string) => `${base}/vips/${group}/owner`,
    tenure: (group: string) => `${base}/vips/${group}/tenure`,
  };
}
export type ZkPaths = ReturnType<typeof zkPaths>;
