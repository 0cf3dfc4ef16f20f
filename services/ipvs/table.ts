// A model of the kernel's IPVS table, read from and written as ipvsadm's save/restore
// lines (`ipvsadm -Sn`, `ipvsadm -R`):
//   -A -t 10.0.0.31:80 -s wrr -p 300 -M 255.255.255.0      a virtual service
//   -a -t 10.0.0.31:80 -r 10.0.0.29:80 -m -w 10           one of its real servers
// Pure: parse, format, compare.

export type Protocol = 'TCP' | 'UDP' | 'SCTP' | 'FWM';
export type Method = 'NAT' | 'DR' | 'TUN';

export interface ServiceId {
  protocol: Protocol;
  /** "10.0.0.31:80" for TCP/UDP/SCTP, the mark ("7") for FWM. */
  address: string;
}

export interface VirtualService extends ServiceId {
  scheduler: string;
  /** Persistence timeout in seconds (-p), if persistent. */
  persistence?: number;
  /** Persistence granularity (-M), if persistent and not /32. */
  netmask?: string;
  /** Scheduler flags (-b), e.g. "sh-port,sh-fallback". */
  flags?: string;
}

export interface RealServer {
  /** "10.0.0.29:80" (port 0 for fwmark services). */
  address: string;
  method: Method;
  weight: number;
}

export interface ServiceEntry {
  service: VirtualService;
  servers: Map<string, RealServer>;
}

/** Virtual services by key ("TCP 10.0.0.31:80", "FWM 7"). */
export type Table = Map<string, ServiceEntry>;

export const serviceKey = (s: ServiceId): string => `${s.protocol} ${s.address}`;

const PROTOCOL_FLAG: Record<Protocol, string> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service', FWM: '-f' };
const FLAG_PROTOCOL = new Map<string, Protocol>([['-t', 'TCP'], ['--tcp-service', 'TCP'], ['-u', 'UDP'], ['--udp-service', 'UDP'], ['--sctp-service', 'SCTP'], ['-f', 'FWM'], ['--fwmark-service', 'FWM']]);
const METHOD_FLAG: Record<Method, string> = { NAT: '-m', DR: '-g', TUN: '-i' };
const FLAG_METHOD = new Map<string, Method>([['-m', 'NAT'], ['--masquerading', 'NAT'], ['-g', 'DR'], ['--gatewaying', 'DR'], ['-i', 'TUN'], ['--ipip', 'TUN']]);

export class TableParseError extends Error {}

/** Parses `ipvsadm -Sn` output; unknown options are refused, naming the line. */
export function parseTable(text: string): Table {
  const table: Table = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const fail = (why: string): never => {
      throw new TableParseError(`ipvsadm line ${i + 1} "${line}": ${why}`);
    };
    const words = line.split(/\s+/);
    const cmd = words[0];
    if (cmd !== '-A' && cmd !== '-a') fail('expected -A or -a');
    let id: ServiceId | undefined;
    const opts = new Map<string, string | true>();
    for (let j = 1; j < words.length; j++) {
      const w = words[j]!;
      const protocol = FLAG_PROTOCOL.get(w);
      if (protocol) {
        const v = words[++j] ?? fail(`${w} needs a value`);
        id = { protocol, address: protocol === 'FWM' ? String(Number(v)) : v };
      } else if (FLAG_METHOD.has(w)) {
        opts.set('method', FLAG_METHOD.get(w)!);
      } else if (['-s', '-p', '-M', '-b', '-r', '-w', '--tun-type', '-x', '-y'].includes(w)) {
        opts.set(w, words[++j] ?? fail(`${w} needs a value`));
      } else if (w === '-o' || w === '--ops') {
        opts.set('-o', true);
      } else fail(`unexpected "${w}"`);
    }
    if (!id) fail('no service (-t, -u, --sctp-service or -f)');
    const key = serviceKey(id!);
    if (cmd === '-A') {
      const service: VirtualService = { ...id!, scheduler: String(opts.get('-s') ?? fail('no scheduler (-s)')) };
      if (opts.has('-p')) service.persistence = Number(opts.get('-p'));
      if (opts.has('-M')) service.netmask = String(opts.get('-M'));
      if (opts.has('-b')) service.flags = String(opts.get('-b'));
      table.set(key, { service, servers: table.get(key)?.servers ?? new Map() });
    } else {
      const entry = table.get(key) ?? fail('real server of a service not listed before it');
      let address = String(opts.get('-r') ?? fail('no real server (-r)'));
      if (!/:\d+$/.test(address)) address += ':0';
      entry!.servers.set(address, { address, method: (opts.get('method') as Method | undefined) ?? 'DR', weight: Number(opts.get('-w') ?? 1) });
    }
  });
  return table;
}

export const serviceFlag = (s: ServiceId): string => `${PROTOCOL_FLAG[s.protocol]} ${s.address}`;

/** The options of a service after its id (-s ... -p ... -M ... -b ...). */
export function serviceOptions(s: VirtualService): string {
  let out = `-s ${s.scheduler}`;
  if (s.persistence !== undefined) out += ` -p ${s.persistence}`;
  if (s.netmask !== undefined) out += ` -M ${s.netmask}`;
  if (s.flags !== undefined) out += ` -b ${s.flags}`;
  return out;
}

export const serverOptions = (r: RealServer): string => `-r ${r.address} ${METHOD_FLAG[r.method]} -w ${r.weight}`;

export function sameService(a: VirtualService, b: VirtualService): boolean {
  return a.scheduler === b.scheduler && a.persistence === b.persistence && (a.netmask ?? '255.255.255.255') === (b.netmask ?? '255.255.255.255') && (a.flags ?? '') === (b.flags ?? '');
}

export const sameServer = (a: RealServer, b: RealServer): boolean => a.method === b.method && a.weight === b.weight;

/** The table as ipvsadm -Sn would print it (services and servers in a stable order). */
export function formatTable(t: Table): string {
  const lines: string[] = [];
  for (const key of [...t.keys()].sort()) {
    const e = t.get(key)!;
    lines.push(`-A ${serviceFlag(e.service)} ${serviceOptions(e.service)}`);
    for (const a of [...e.servers.keys()].sort()) lines.push(`-a ${serviceFlag(e.service)} ${serverOptions(e.servers.get(a)!)}`);
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}
