// What the fence service manages on one node, from the configuration: its VIP groups,
// each with the addresses (interface resolved), the VRRP instance that proposes it and
// keepalived's gratuitous ARP timing of that instance.
import { instancesForNode, parseVipAddress, type VigilConfig } from '../../shared/config/index.js';
import { ADDRESS_LIFETIME_S } from './decider.js';
import type { GarpTiming } from './garp.js';

export interface GroupAddress {
  address: string;
  prefix: number;
  ifname: string;
  label: string | undefined;
}

export interface GroupPlan {
  name: string;
  instance: string;
  addresses: GroupAddress[];
  garp: GarpTiming;
}

export function planGroups(config: VigilConfig, node: string): GroupPlan[] {
  const instances = new Map(instancesForNode(config, node).map((i) => [i.name, i]));
  return Object.entries(config.vip_groups).map(([name, g]) => {
    const vi = instances.get(g.instance);
    if (!vi) throw new Error(`VIP group ${name}: no vrrp instance ${g.instance}`);
    return {
      name,
      instance: g.instance,
      addresses: g.addresses.map(parseVipAddress).map((a) => ({ address: a.address, prefix: a.prefix, ifname: a.dev ?? vi.interface, label: a.label })),
      garp: {
        delayMs: vi.garp_master_delay * 1000,
        repeat: vi.garp_master_repeat,
        refreshMs: vi.garp_master_refresh * 1000,
        refreshRepeat: vi.garp_master_refresh_repeat,
      },
    };
  });
}

/** ZooKeeper paths of a cluster (readable with zkCli.sh). */
/** iproute2 lines (for ip -batch) that add or renew (replace: create or update the lifetime), or remove a group's addresses. */
export function addressLines(op: 'replace' | 'del', addresses: GroupAddress[], lifetimeS = ADDRESS_LIFETIME_S): string[] {
  return addresses.map((a) => {
    const base = `address ${op} ${a.address}/${a.prefix} dev ${a.ifname}`;
    if (op === 'del') return base;
    return `${base}${a.label ? ` label ${a.label}` : ''} valid_lft ${lifetimeS} preferred_lft ${lifetimeS}`;
  });
}
