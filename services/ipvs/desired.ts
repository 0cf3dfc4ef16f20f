// The IPVS table this node should have, from the configuration and the health of the real
// servers, with keepalived's virtual_server semantics (real-server health and quorum:
// shared/quorum.ts):
// - a down real server is removed, or kept with weight 0 with inhibit_on_failure;
// - while the quorum is lost the sorry server (if any) replaces the real servers; with
//   sorry_server_inhibit it is kept at weight 0 while the quorum holds;
// - a virtual_server with `group` is one IPVS service per member of its
//   virtual_server_group.
// Pure: the shell feeds it the last health.changed of each check and the last quorum state.
import { realServerTarget, virtualServices, type VigilConfig, type VirtualServerConfig } from '../../shared/config/index.js';
import { quorumStep, realServerState, type Health, type QuorumMove, type QuorumState } from '../../shared/quorum.js';
import { serviceKey, type Method, type RealServer, type ServiceId, type Table, type VirtualService } from './table.js';

export interface QuorumChange extends QuorumMove {
  /** The IPVS services of the virtual server ("TCP 10.0.0.31:80, ..."). */
  service: string;
  sorryServer?: string;
}

export interface Desired {
  table: Table;
  /** The virtual server (config name) of each service key. */
  owner: Map<string, string>;
  quorum: Map<string, QuorumState>;
  quorumChanges: QuorumChange[];
}

const METHOD: Record<VirtualServerConfig['lb_kind'], Method> = { NAT: 'NAT', DR: 'DR', TUN: 'TUN' };

function serviceOf(id: ServiceId, vs: VirtualServerConfig): VirtualService {
  const s: VirtualService = { ...id, scheduler: vs.lb_algo };
  if (vs.persistence_timeout) {
    s.persistence = vs.persistence_timeout;
    if (vs.persistence_granularity !== undefined) s.netmask = vs.persistence_granularity;
  }
  return s;
}

export function desiredTable(config: VigilConfig, health: Health, previousQuorum: ReadonlyMap<string, QuorumState>): Desired {
  const table: Table = new Map();
  const owner = new Map<string, string>();
  const quorum = new Map<string, QuorumState>();
  const quorumChanges: QuorumChange[] = [];
  for (const [name, vs] of Object.entries(config.virtual_servers)) {
    const method = METHOD[vs.lb_kind];
    const live: RealServer[] = [];
    const inhibited: RealServer[] = [];
    for (const rs of vs.real_servers) {
      const { up, weight } = realServerState(name, vs, rs, health);
      const address = realServerTarget(vs, rs);
      if (up) live.push({ address, method, weight });
      else if (rs.inhibit_on_failure ?? vs.inhibit_on_failure) inhibited.push({ address, method, weight: 0 });
    }
    const { state: q, move } = quorumStep(name, vs, health, previousQuorum.get(name) ?? 'up');
    quorum.set(name, q);
    const sorry = vs.sorry_server ? { address: realServerTarget(vs, vs.sorry_server), method, weight: 1 } : undefined;
    const ids = virtualServices(config, vs);
    if (move) quorumChanges.push({ ...move, service: ids.map(serviceKey).join(', '), ...(sorry ? { sorryServer: sorry.address } : {}) });
    let servers: RealServer[];
    if (q === 'lost' && sorry) servers = [sorry];
    else {
      servers = [...live, ...inhibited];
      if (sorry && vs.sorry_server_inhibit && !servers.some((s) => s.address === sorry.address)) servers.push({ ...sorry, weight: 0 });
    }
    for (const id of ids) {
      const key = serviceKey(id);
      table.set(key, { service: serviceOf(id, vs), servers: new Map(servers.map((s) => [s.address, s])) });
      owner.set(key, name);
    }
  }
  return { table, owner, quorum, quorumChanges };
}
