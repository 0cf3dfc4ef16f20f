// Rules that span several parts of the configuration (the schema checks each part alone).
import { z } from 'zod';
import type { VigilConfig } from './schema.js';
import { parseVipAddress } from './vip.js';
import { virtualServices } from './resolve.js';

export interface CrossProblem {
  path: (string | number)[];
  message: string;
}

/**
 * The shortest ZooKeeper session a fenced VIP allows: the lease deadline (the session
 * timeout minus a margin of at least 100 ms) must leave time for heartbeats between the
 * renewals of the kernel fence (services/fence/decider.ts).
 */
export const MIN_SESSION_TIMEOUT_S = 0.4;

const nameOf = (x: string | { name: string }) => (typeof x === 'string' ? x : x.name);

type Tracking = Pick<VigilConfig['vrrp_instances'][string], 'track_script' | 'track_virtual_server'>;

/** Tracked scripts and virtual servers must exist. */
function trackedNames(c: VigilConfig, at: (...rest: (string | number)[]) => (string | number)[], t: Tracking): CrossProblem[] {
  const out: CrossProblem[] = [];
  t.track_script.forEach((s, i) => {
    if (!(nameOf(s) in c.track_scripts)) out.push({ path: at('track_script', i), message: `no track script named "${nameOf(s)}" under track_scripts` });
  });
  t.track_virtual_server.forEach((v, i) => {
    if (!(nameOf(v) in c.virtual_servers)) out.push({ path: at('track_virtual_server', i), message: `no virtual server named "${nameOf(v)}" under virtual_servers` });
  });
  return out;
}

export function crossCheck(c: VigilConfig): CrossProblem[] {
  const out: CrossProblem[] = [];
  const nodes = new Set(Object.keys(c.nodes));
  const vridOwners = new Map<string, string>();
  const syncMember = new Map<string, string>();

  if (c.nats) {
    for (const n of nodes) {
      if (n.includes('.')) out.push({ path: ['nodes', n], message: `"${n}" is one token of NATS subjects (vigil.${c.cluster}.events.<node>...) and must not contain "."` });
    }
  }

  if (c.zookeeper.failsafe) {
    for (const n of nodes) {
      if (!c.nodes[n]?.address) out.push({ path: ['nodes', n, 'address'], message: 'zookeeper.failsafe needs every node\'s address: the nodes confirm each other over it (UDP port zookeeper.failsafe_port)' });
    }
  }

  for (const [name, vi] of Object.entries(c.vrrp_instances)) {
    const at = (...rest: (string | number)[]) => ['vrrp_instances', name, ...rest];
    out.push(...trackedNames(c, at, vi));
    for (const n of Object.keys(vi.nodes)) {
      if (!nodes.has(n)) out.push({ path: at('nodes', n), message: `"${n}" is not one of the nodes (${[...nodes].join(', ')})` });
    }
    if (vi.authentication && vi.version === 3) out.push({ path: at('authentication'), message: 'authentication exists only in VRRPv2 (RFC 5798 removed it); use version: 2 or drop it' });
    if (vi.version === 2 && (!Number.isInteger(vi.advert_int) || vi.advert_int > 255)) {
      out.push({ path: at('advert_int'), message: 'VRRPv2 adverts are whole seconds from 1 to 255' });
    }
    if (vi.version === 3 && (vi.advert_int < 0.01 || vi.advert_int > 40.95 || Math.abs(Math.round(vi.advert_int * 100) - vi.advert_int * 100) > 1e-9)) {
      out.push({ path: at('advert_int'), message: 'VRRPv3 adverts are centiseconds: from 0.01 to 40.95 seconds, in steps of 0.01' });
    }
    const key = `${vi.interface}/${vi.virtual_router_id}`;
    const other = vridOwners.get(key);
    if (other) out.push({ path: at('virtual_router_id'), message: `virtual_router_id ${vi.virtual_router_id} on ${vi.interface} is already used by ${other}` });
    else vridOwners.set(key, name);
  }

  for (const [name, g] of Object.entries(c.vrrp_sync_groups)) {
    out.push(...trackedNames(c, (...rest) => ['vrrp_sync_groups', name, ...rest], g));
    g.group.forEach((member, i) => {
      if (!(member in c.vrrp_instances)) out.push({ path: ['vrrp_sync_groups', name, 'group', i], message: `no vrrp instance named "${member}"` });
      const prev = syncMember.get(member);
      if (prev) out.push({ path: ['vrrp_sync_groups', name, 'group', i], message: `${member} is already in sync group ${prev}` });
      else syncMember.set(member, name);
    });
  }

  if (Object.keys(c.vip_groups).length > 0 && c.zookeeper.session_timeout < MIN_SESSION_TIMEOUT_S) {
    out.push({
      path: ['zookeeper', 'session_timeout'],
      message: `must be at least ${MIN_SESSION_TIMEOUT_S} s when VIP groups are fenced: the kernel fence is renewed by heartbeats that must fit, several times, in the session`,
    });
  }

  const vipOwner = new Map<string, string>();
  for (const [name, g] of Object.entries(c.vip_groups)) {
    if (!(g.instance in c.vrrp_instances)) out.push({ path: ['vip_groups', name, 'instance'], message: `no vrrp instance named "${g.instance}"` });
    g.addresses.forEach((a, i) => {
      const v = parseVipAddress(a);
      if (!z.ipv4().safeParse(v.address).success || !(v.prefix >= 0 && v.prefix <= 32)) {
        out.push({ path: ['vip_groups', name, 'addresses', i], message: `"${v.address}/${v.prefix}" is not an IPv4 address with a prefix length of at most 32` });
        return;
      }
      const prev = vipOwner.get(v.address);
      if (prev) out.push({ path: ['vip_groups', name, 'addresses', i], message: `${v.address} is already in VIP group ${prev}: one address, one lease` });
      else vipOwner.set(v.address, name);
    });
  }

  const services = new Map<string, string>();
  for (const [name, vs] of Object.entries(c.virtual_servers)) {
    const at = (...rest: (string | number)[]) => ['virtual_servers', name, ...rest];
    for (const id of virtualServices(c, vs)) {
      // One IPVS service, one virtual server: two would fight over its real servers.
      const key = `${id.protocol} ${id.address}`;
      const other = services.get(key);
      if (other !== undefined && other !== name) out.push({ path: at(), message: `the IPVS service ${key} is already virtual server ${other}` });
      services.set(key, name);
    }
    const kinds = [vs.ip !== undefined, vs.fwmark !== undefined, vs.group !== undefined].filter(Boolean).length;
    if (kinds !== 1) out.push({ path: at(), message: 'give exactly one of ip (with port), fwmark or group' });
    if (vs.ip !== undefined && vs.port === undefined && !vs.persistence_timeout) {
      out.push({ path: at('ip'), message: 'a virtual server by address needs a port (port 0 = all ports needs persistence_timeout, as in ipvsadm)' });
    }
    if (vs.group !== undefined && !(vs.group in c.virtual_server_groups)) out.push({ path: at('group'), message: `no virtual_server_group named "${vs.group}"` });
    if (vs.persistence_granularity !== undefined && !vs.persistence_timeout) {
      out.push({ path: at('persistence_granularity'), message: 'persistence_granularity needs persistence_timeout' });
    }
    const seen = new Set<string>();
    vs.real_servers.forEach((rs, i) => {
      const id = `${rs.ip}:${rs.port ?? vs.port ?? 0}`;
      if (seen.has(id)) out.push({ path: at('real_servers', i), message: `real server ${id} is listed twice` });
      seen.add(id);
      if (rs.port === undefined && vs.port === undefined && vs.fwmark === undefined) {
        out.push({ path: at('real_servers', i), message: 'a real server needs a port (or the virtual server one)' });
      }
      rs.checks.forEach((ch, j) => {
        const needsPort = ch.type === 'TCP_CHECK' || ch.type === 'HTTP_GET' || ch.type === 'SSL_GET';
        if (needsPort && ch.connect_port === undefined && rs.port === undefined && vs.port === undefined) {
          out.push({ path: at('real_servers', i, 'checks', j), message: `${ch.type} needs connect_port when neither the real server nor the virtual server has a port` });
        }
      });
    });
  }
  return out;
}
