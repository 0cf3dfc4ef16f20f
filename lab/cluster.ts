// A vigil cluster on one machine, in network namespaces: director nodes running vigil's
// services as separate processes (as in production), ZooKeeper (and NATS) on a
// coordination host, a client host and any other hosts asked for; an independent observer
// per director that samples its interfaces every few ms (no vigil code involved), and a
// client that keeps connecting to the VIP. Faults are made with signals, nftables and link
// state inside the namespaces. Used by `vigil demo` and by the tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog, type EventType, type StoredEvent } from '../shared/eventlog/index.js';
import { smallDisk, type SmallDisk } from './disk.js';
import { startNats, type Nats } from './nats.js';
import { createTopology, type Topology } from './netns.js';
import { startObservers, type Observers } from './observers.js';
import { waitFor, type Child } from './process.js';
import { tempDir, type TempDir } from './tmp.js';
import { startZooKeeper, type ZooKeeper } from './zookeeper.js';

export type ServiceName = 'vrrp' | 'fence' | 'relay' | 'health' | 'ipvs';
/** The coordination host (ZooKeeper, NATS) and the client host. */
export const COORDINATOR = 'zk';
export const CLIENT = 'cl';
/** The client pinned to a director's MAC (LabOptions.pinnedClients). */
export const pinnedHost = (node: string) => `p${node}`;

export type { Answer, Presence } from './observers.js';

export interface LabContext {
  t: Topology;
  zk: ZooKeeper;
  nats: Nats | undefined;
  /** The cluster's folder: configuration, logs of its processes, event logs under <node>/. */
  dir: string;
}

export interface LabOptions {
  /** Director nodes (1-6 lower-case letters or digits). */
  nodes: string[];
  /** Other hosts on the switch (real servers, ...), after the directors. */
  extraHosts?: string[];
  zkServers?: 1 | 3;
  nats?: boolean;
  /** The topology's id (a prefix of every name; "vg" and a random id by default). */
  id?: string;
  /** Prefix of the temporary folder's name. */
  folder?: string;
  /** The VIP the observers watch and the client asks, and the TCP port they answer it on. */
  vip: string;
  vipPort: number;
  /** Observers' sampling interval (ms). */
  sampleMs?: number;
  /** The configuration file's text, once the hosts and coordination services exist. */
  config(ctx: LabContext): string;
  /** Nodes whose event log lives on a small disk of its own (16 MiB tmpfs) that can be filled. */
  smallDisks?: string[];
  /** A client per director pinned to its MAC (hosts "p<node>"): who answers for the VIP, not only who has it (observers.ts). */
  pinnedClients?: boolean;
  /** The built CLI (dist/bundle/main.js) and the lab's entry scripts (dist/lab). */
  cli: string;
  labDist: string;
  cwd: string;
}

/** A lab cluster; what its observers saw (presence, overlaps, answers, settled) is lab/observers.ts's. */
export interface LabCluster extends Omit<Observers, 'children'> {
  t: Topology;
  zk: ZooKeeper;
  nats: Nats | undefined;
  nodes: string[];
  configFile: string;
  start(node: string, which?: ServiceName[]): void;
  /** Waits until the node's fence has a ZooKeeper session. */
  fenceReady(node: string): Promise<void>;
  /** Sends a signal to services of a node and waits until they are gone; how each ended. */
  signal(node: string, which: ServiceName[], signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }[]>;
  /** The small disk of a node's log (smallDisks). */
  disk(node: string): SmallDisk;
  /** Path of a node's event log. */
  logPath(node: string): string;
  running(node: string, which: ServiceName): boolean;
  /** The PID of a running service (to send it signals that do not end it). */
  pid(node: string, which: ServiceName): number | undefined;
  /** Service processes that ended without the lab stopping or signalling them. */
  deaths(): { node: string; service: ServiceName; code: number | null; signal: string | null }[];
  /** The folder of the cluster's files (config, service logs). */
  dir: string;
  /** Applies nftables rules in a node's namespace (input and output chains); returns how to remove them. */
  firewall(node: string, rules: { input?: string[]; output?: string[] }): Promise<() => Promise<void>>;
  events(node: string, types: readonly string[]): StoredEvent[];
  /** Lines of the services' logs that report a bug (an event the catalogue refused, say): none, ever. */
  bugs(): string[];
  destroy(): Promise<void>;
  /** Keeps the cluster's folder (configuration, service logs, event logs) and ZooKeeper's (its servers' logs) when it is destroyed. */
  keepFolder(): void;
}

/** Events of these types in the log at `db` (none if it does not exist yet), read as an operator tool would. */
export function readEvents(db: string, types: readonly string[]): StoredEvent[] {
  try {
    const log = EventLog.open({ path: db, readOnly: true });
    try {
      return log.query({ types: types as EventType[] });
    } finally {
      log.close();
    }
  } catch {
    return [];
  }
}

export async function startLab(o: LabOptions): Promise<LabCluster> {
  const tmp: TempDir = tempDir(o.folder ?? 'lab');
  let t: Topology | undefined;
  let zk: ZooKeeper | undefined;
  let nats: Nats | undefined;
  const stopAll = async () => {
    await nats?.stop();
    await zk?.stop();
    await t?.destroy();
    tmp.remove();
  };
  try {
    t = await createTopology({ hosts: [...o.nodes, ...(o.extraHosts ?? []), ...(o.pinnedClients ? o.nodes.map(pinnedHost) : []), COORDINATOR, CLIENT], ...(o.id ? { id: o.id } : {}) });
    if (o.pinnedClients) {
      for (const n of o.nodes) {
        const mac = (await t.exec(n, ['cat', `/sys/class/net/${t.hosts[n]!.ifname}/address`])).stdout.trim();
        await t.exec(pinnedHost(n), ['ip', 'neigh', 'replace', o.vip, 'lladdr', mac, 'dev', t.hosts[pinnedHost(n)]!.ifname, 'nud', 'permanent']);
      }
    }
    const place = { ns: t.hosts[COORDINATOR]!.ns, host: t.hosts[COORDINATOR]!.address };
    zk = await startZooKeeper({ servers: o.zkServers ?? 1, place });
    if (o.nats) nats = await startNats({ place });
  } catch (err) {
    await stopAll();
    throw err;
  }
  const topology = t;
  const configFile = join(tmp.path, 'vigil.yaml');
  const disks: Record<string, SmallDisk> = {};
  for (const n of o.nodes) {
    if (o.smallDisks?.includes(n)) disks[n] = smallDisk(join(tmp.path, n), 16);
    mkdirSync(join(tmp.path, n), { recursive: true });
  }
  writeFileSync(configFile, o.config({ t: topology, zk, nats, dir: tmp.path }));

  const services = new Map<string, Child>();
  const expectedEnd = new Set<Child>();
  const deaths: { node: string; service: ServiceName; code: number | null; signal: string | null }[] = [];
  const key = (node: string, s: ServiceName) => `${node}/${s}`;
  const start = (node: string, which: ServiceName[] = ['fence', 'vrrp']) => {
    for (const s of which) {
      if (services.get(key(node, s))?.isRunning()) continue;
      const child = topology.spawn(node, [process.execPath, o.cli, 'run', s, '--config', configFile, '--node', node], { logFile: join(tmp.path, `${node}-${s}.log`), cwd: o.cwd });
      services.set(key(node, s), child);
      void child.exited.then(({ code, signal }) => {
        if (!expectedEnd.has(child)) deaths.push({ node, service: s, code, signal });
      });
    }
  };

  const seen = await startObservers({
    nodes: o.nodes, spawn: (host, argv, options) => topology.spawn(host, argv, options), clientHost: CLIENT,
    vip: o.vip, vipPort: o.vipPort, labDist: o.labDist, cwd: o.cwd, ...(o.sampleMs !== undefined ? { sampleMs: o.sampleMs } : {}),
    ...(o.pinnedClients ? { pinned: Object.fromEntries(o.nodes.map((n) => [n, pinnedHost(n)])) } : {}),
  });

  const cluster: LabCluster = {
    t: topology,
    zk,
    nats,
    nodes: o.nodes,
    configFile,
    start,
    async signal(node, which, signal) {
      return Promise.all(which.flatMap((s) => {
        const child = services.get(key(node, s));
        if (!child) return [];
        expectedEnd.add(child);
        // A service that does not end within 20 s of a signal that ends it is a fault to name, not a hang.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const file = join(tmp.path, `${node}-${s}.log`);
            reject(new Error(`${node}/${s} (pid ${child.pid}) did not end within 20 s of ${signal}; its log (${file}) ends:\n${tail(file, 15)}`));
          }, 20_000);
        });
        return [Promise.race([child.kill(signal).then(() => child.exited), late]).finally(() => clearTimeout(timer))];
      }));
    },
    disk(node) {
      const d = disks[node];
      if (!d) throw new Error(`${node} has no small disk (smallDisks option)`);
      return d;
    },
    logPath: (node) => join(tmp.path, node, 'events.db'),
    async fenceReady(node) {
      await waitFor(`the fence of ${node} to connect to ZooKeeper`, () => {
        const last = cluster.events(node, ['fence.zk_state']).at(-1);
        return (last?.data as { state?: string } | undefined)?.state === 'connected' ? true : undefined;
      });
    },
    running: (node, which) => services.get(key(node, which))?.isRunning() ?? false,
    deaths: () => [...deaths],
    pid: (node, which) => {
      const c = services.get(key(node, which));
      return c?.isRunning() ? c.pid : undefined;
    },
    dir: tmp.path,
    presence: seen.presence,
    holders: seen.holders,
    overlaps: seen.overlaps,
    possibleOverlaps: seen.possibleOverlaps,
    answers: seen.answers,
    clientStalls: seen.clientStalls,
    answering: seen.answering,
    answeringOverlaps: seen.answeringOverlaps,
    maxSampleGapMs: seen.maxSampleGapMs,
    transitionUncertaintyMs: seen.transitionUncertaintyMs,
    settled: seen.settled,
    async firewall(node, rules) {
      const chain = (name: string, hook: string, body: string[] = []) => `add chain inet vgcut ${name} { type filter hook ${hook} priority -10; policy accept; }\n${body.map((r) => `add rule inet vgcut ${name} ${r}`).join('\n')}`;
      await topology.exec(node, ['nft', `add table inet vgcut\n${chain('in', 'input', rules.input)}\n${chain('out', 'output', rules.output)}`]);
      return async () => void (await topology.exec(node, ['nft', 'delete table inet vgcut'], { allowFail: true }));
    },
    events: (node, types) => readEvents(join(tmp.path, node, 'events.db'), types),
    bugs: () => [...services.keys()].flatMap((k) => {
      const [node, s] = k.split('/');
      try {
        return readFileSync(join(tmp.path, `${node}-${s}.log`), 'utf8').split('\n').filter((l) => l.includes('a bug: please report it')).map((l) => `${node}/${s}: ${l.slice(0, 600)}`);
      } catch {
        return [];
      }
    }),
    keepFolder: () => {
      tmp.keep();
      zk?.keep();
    },
    async destroy() {
      for (const c of services.values()) expectedEnd.add(c);
      await Promise.all([...services.values()].map((c) => c.stop(3000)));
      await stopAll();
    },
  };
  return cluster;
}

/** The last lines of a file (a service's log in a failure message), each cut to 400 characters. */
function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => l.slice(0, 400)).join('\n');
  } catch (err) {
    return `(cannot read it: ${(err as Error).message})`;
  }
}
