// One node's view of the cluster configuration: per-node overrides applied.
import { isAbsolute, dirname, resolve as resolvePath } from 'node:path';
import type { CheckConfig, RealServerConfig, VigilConfig, VirtualServerConfig, VrrpInstanceConfig } from './schema.js';

export type NodeInstance = Omit<VrrpInstanceConfig, 'nodes'> & { name: string };

export function nodeNames(c: VigilConfig): string[] {
  return Object.keys(c.nodes);
}

export function instancesForNode(c: VigilConfig, node: string): NodeInstance[] {
  if (!(node in c.nodes)) throw new Error(`node "${node}" is not in the configuration (nodes: ${nodeNames(c).join(', ')})`);
  return Object.entries(c.vrrp_instances).map(([name, vi]) => {
    const { nodes, ...base } = vi;
    const override = nodes[node] ?? {};
    const merged = { ...base, name };
    for (const [k, v] of Object.entries(override)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
    return merged;
  });
}

/** The event log path of a node, relative paths taken from the config file's folder. */
export function logPathForNode(c: VigilConfig, node: string, configFile: string): string {
  const p = (c.nodes[node]?.log ?? c.log.path).replaceAll('{node}', node);
  return isAbsolute(p) ? p : resolvePath(dirname(configFile), p);
}

/** "ip:port" of a real server or group member (its port, else its virtual server's, else 0 for fwmark services). */
export const realServerTarget = (vs: Pick<VirtualServerConfig, 'port'>, rs: Pick<RealServerConfig, 'ip' | 'port'>): string => `${rs.ip}:${rs.port ?? vs.port ?? 0}`;

/** The IPVS services of a virtual server: its ip and port, its fwmark, or each member of its virtual_server_group. */
export function virtualServices(c: Pick<VigilConfig, 'virtual_server_groups'>, vs: VirtualServerConfig): { protocol: VirtualServerConfig['protocol'] | 'FWM'; address: string }[] {
  if (vs.group !== undefined) {
    return (c.virtual_server_groups[vs.group] ?? []).map((m) =>
      'fwmark' in m ? { protocol: 'FWM' as const, address: String(m.fwmark) } : { protocol: vs.protocol, address: realServerTarget(vs, m) },
    );
  }
  if (vs.fwmark !== undefined) return [{ protocol: 'FWM', address: String(vs.fwmark) }];
  return [{ protocol: vs.protocol, address: `${vs.ip}:${vs.port ?? 0}` }];
}

/** keepalived's alpha: a check counts as down until its first result (its own setting, else its virtual server's). */
export const startsDown = (vs: Pick<VirtualServerConfig, 'alpha'>, ch: Pick<CheckConfig, 'alpha'>): boolean => ch.alpha ?? vs.alpha;
