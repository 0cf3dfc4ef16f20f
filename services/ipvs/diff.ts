// The smallest set of ipvsadm restore lines that turns the current table into the desired
// one: services that should not exist go first (with their servers), then services are
// added or edited, then servers removed, then servers added or edited. A line per change,
// so that each can be recorded as one event.
import { sameServer, sameService, serverOptions, serviceFlag, serviceOptions, type Table } from './table.js';

export type IpvsOpKind = 'add_service' | 'edit_service' | 'del_service' | 'add_server' | 'edit_server' | 'del_server';

export interface IpvsOp {
  op: IpvsOpKind;
  /** Service key, "TCP 10.0.0.31:80". */
  service: string;
  /** Real server address, "10.0.0.29:80". */
  server?: string;
  /** The ipvsadm restore line. */
  line: string;
}

const sorted = <T>(m: Map<string, T>) => [...m.keys()].sort();

export function diffTables(current: Table, desired: Table): IpvsOp[] {
  const delServices: IpvsOp[] = [];
  const services: IpvsOp[] = [];
  const delServers: IpvsOp[] = [];
  const servers: IpvsOp[] = [];
  for (const key of sorted(current)) {
    if (!desired.has(key)) delServices.push({ op: 'del_service', service: key, line: `-D ${serviceFlag(current.get(key)!.service)}` });
  }
  for (const key of sorted(desired)) {
    const want = desired.get(key)!;
    const have = current.get(key);
    const flag = serviceFlag(want.service);
    if (!have) services.push({ op: 'add_service', service: key, line: `-A ${flag} ${serviceOptions(want.service)}` });
    else if (!sameService(have.service, want.service)) services.push({ op: 'edit_service', service: key, line: `-E ${flag} ${serviceOptions(want.service)}` });
    const haveServers = have?.servers ?? new Map();
    for (const a of sorted(haveServers)) {
      if (!want.servers.has(a)) delServers.push({ op: 'del_server', service: key, server: a, line: `-d ${flag} -r ${a}` });
    }
    for (const a of sorted(want.servers)) {
      const w = want.servers.get(a)!;
      const h = haveServers.get(a);
      if (!h) servers.push({ op: 'add_server', service: key, server: a, line: `-a ${flag} ${serverOptions(w)}` });
      else if (!sameServer(h, w)) servers.push({ op: 'edit_server', service: key, server: a, line: `-e ${flag} ${serverOptions(w)}` });
    }
  }
  return [...delServices, ...services, ...delServers, ...servers];
}
