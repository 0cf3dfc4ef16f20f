// A fenced vigil cluster in namespaces: director nodes (vrrp + fence each), ZooKeeper
// on its own host, a client host; an independent observer per node that samples its
// interfaces every few ms, and a client that keeps connecting to the VIP. Faults are made
// with signals, nftables and link state inside the namespaces.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { StoredEvent } from '../../shared/eventlog/index.js';
import { smallDisk, type SmallDisk } from './disk.js';
import { readEvents } from './log.js';
import { createTopology, type Topology } from './netns.js';
import { CLI, ROOT } from './node.js';
import { waitFor, type Child } from './process.js';
import { tempDir, type TempDir } from './tmp.js';
import { startZooKeeper, type ZooKeeper } from './zookeeper.js';

export const VIP = '10.77.0.100';
export const VIP_PORT = 8080;
const SAMPLE_MS = 2;

export type ServiceName = 'vrrp' | 'fence' | 'relay';

export interface FencedClusterOptions {
  nodes?: string[];
  zkServers?: 1 | 3;
  /** Seconds. */
  sessionTimeout?: number;
  /** Seconds (VRRPv3). */
  advertInt?: number;
  priorities?: Record<string, number>;
  /** Nodes whose event log lives on a small disk of its own (16 MiB tmpfs) that a test can fill. */
  smallDisks?: string[];
}

/** A time range (unix ms, fractional) during which an observer saw the VIP on a node. */
export interface Presence {
  node: string;
  from: number;
  /** Last sample that still saw it (Infinity while it is there). */
  to: number;
}

export interface Answer {
  t: number;
  answer: string | null;
}

export interface FencedCluster {
  t: Topology;
  zk: ZooKeeper;
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
  /** Service processes that ended without the harness stopping or signalling them. */
  deaths(): { node: string; service: ServiceName; code: number | null; signal: string | null }[];
  /** The folder of the cluster's files (config, service logs). */
  dir: string;
  /** Presence intervals per node, as sampled by the observers. */
  presence(): Presence[];
  /** The node(s) where the VIP is now, per the observers. */
  holders(): string[];
  /** Times at which two nodes were both seen holding the VIP. */
  overlaps(): { a: Presence; b: Presence; ms: number }[];
  answers(): Answer[];
  /** The largest gap between two samples of any observer (ms): what "every few ms" was. */
  maxSampleGapMs(): number;
  /**
   * The largest gap (ms) between a sample that saw a VIP come or go and the sample before
   * it: how much longer than observed a presence may have lasted, so the longest overlap
   * that overlaps() could miss.
   */
  transitionUncertaintyMs(): number;
  /** Waits until exactly one node (this one, if given) holds the VIP and the client gets answers from it. */
  settled(node?: string, timeoutMs?: number): Promise<string>;
  /** Applies nftables rules in a node's namespace (input and output chains); returns how to remove them. */
  firewall(node: string, rules: { input?: string[]; output?: string[] }): Promise<() => Promise<void>>;
  events(node: string, types: string[]): StoredEvent[];
  destroy(): Promise<void>;
}

function config(o: Required<Omit<FencedClusterOptions, 'smallDisks'>>, t: Topology, zk: ZooKeeper, dir: string): string {
  const nodes = o.nodes.map((n) => `  ${n}: { address: ${t.hosts[n]!.address} }`).join('\n');
  const perNode = o.nodes.map((n) => `      ${n}: { interface: ${t.hosts[n]!.ifname}, priority: ${o.priorities[n] ?? 100} }`).join('\n');
  return `cluster: test
nodes:
${nodes}
log: { path: '${join(dir, '{node}', 'events.db')}' }
zookeeper: { hosts: [${zk.connectString.split(',').join(', ')}], session_timeout: ${o.sessionTimeout} }
fence: { liveness_timeout: 0.3 }
vrrp_instances:
  VI_1:
    interface: placeholder0
    virtual_router_id: 51
    version: 3
    advert_int: ${o.advertInt}
    garp_master_delay: 1
    nodes:
${perNode}
vip_groups:
  web: { instance: VI_1, addresses: [${VIP}/32] }
`;
}

export async function startFencedCluster(options: FencedClusterOptions = {}): Promise<FencedCluster> {
  const o: Required<Omit<FencedClusterOptions, 'smallDisks'>> = {
    nodes: options.nodes ?? ['n1', 'n2'],
    zkServers: options.zkServers ?? 1,
    sessionTimeout: options.sessionTimeout ?? 1.5,
    advertInt: options.advertInt ?? 0.1,
    priorities: options.priorities ?? { n1: 150, n2: 100, n3: 50 },
  };
  const tmp: TempDir = tempDir('fenced');
  const t = await createTopology({ hosts: [...o.nodes, 'zk', 'cl'] });
  let zk: ZooKeeper | undefined;
  try {
    zk = await startZooKeeper({ servers: o.zkServers, place: { ns: t.hosts.zk!.ns, host: t.hosts.zk!.address } });
  } catch (err) {
    await t.destroy();
    tmp.remove();
    throw err;
  }
  const configFile = join(tmp.path, 'vigil.yaml');
  const logDir = tmp.path;
  const disks: Record<string, SmallDisk> = {};
  for (const n of o.nodes) {
    if (options.smallDisks?.includes(n)) disks[n] = smallDisk(join(tmp.path, n), 16);
    mkdirSync(join(tmp.path, n), { recursive: true });
  }
  writeFileSync(configFile, config(o, t, zk, logDir));

  const services = new Map<string, Child>();
  const expectedEnd = new Set<Child>();
  const deaths: { node: string; service: ServiceName; code: number | null; signal: string | null }[] = [];
  const key = (node: string, s: ServiceName) => `${node}/${s}`;
  const start = (node: string, which: ServiceName[] = ['fence', 'vrrp']) => {
    for (const s of which) {
      if (services.get(key(node, s))?.isRunning()) continue;
      const child = t.spawn(node, [process.execPath, CLI, 'run', s, '--config', configFile, '--node', node], { logFile: join(tmp.path, `${node}-${s}.log`), cwd: ROOT });
      services.set(key(node, s), child);
      void child.exited.then(({ code, signal }) => {
        if (!expectedEnd.has(child)) deaths.push({ node, service: s, code, signal });
      });
    }
  };

  const presence: Presence[] = [];
  const open = new Map<string, Presence>();
  let maxGap = 0;
  let maxTransitionGap = 0;
  const answers: Answer[] = [];
  const readyPromises: Promise<void>[] = [];
  const lines = (child: Child, onLine: (o: Record<string, unknown>) => void) =>
    new Promise<void>((ready) => {
      createInterface({ input: child.proc.stdout! }).on('line', (l) => {
        const msg = JSON.parse(l) as Record<string, unknown>;
        if (msg.ready) ready();
        else onLine(msg);
      });
    });
  for (const node of o.nodes) {
    // At the highest priority short of real-time (which starves the kernel's own work here),
    // so that its samples stay a few ms apart while other test files load both cores.
    const w = t.spawn(node, ['nice', '-n', '-20', process.execPath, '--import', 'tsx', join(ROOT, 'test/fixtures/vip-watch.ts'), node, String(VIP_PORT), String(SAMPLE_MS), VIP], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
    readyPromises.push(lines(w, (m) => {
      if (m.stats) {
        maxGap = Math.max(maxGap, Number((m.stats as { maxGapMs: number }).maxGapMs));
        return;
      }
      if (m.present !== undefined) maxTransitionGap = Math.max(maxTransitionGap, Number(m.t) - Number(m.before));
      if (m.present === true) {
        const p = { node, from: Number(m.t), to: Infinity };
        presence.push(p);
        open.set(node, p);
      } else if (m.present === false) {
        const p = open.get(node);
        if (p) p.to = Number(m.before);
        open.delete(node);
      }
    }));
  }
  const client = t.spawn('cl', [process.execPath, '--import', 'tsx', join(ROOT, 'test/fixtures/vip-client.ts'), VIP, String(VIP_PORT), '5', '40'], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  readyPromises.push(lines(client, (m) => answers.push({ t: Number(m.t), answer: (m.answer as string | null) ?? null })));
  await Promise.all(readyPromises);

  const cluster: FencedCluster = {
    t,
    zk,
    nodes: o.nodes,
    configFile,
    start,
    async signal(node, which, signal) {
      return Promise.all(which.flatMap((s) => {
        const child = services.get(key(node, s));
        if (!child) return [];
        expectedEnd.add(child);
        return [child.kill(signal).then(() => child.exited)];
      }));
    },
    disk(node) {
      const d = disks[node];
      if (!d) throw new Error(`${node} has no small disk (smallDisks option)`);
      return d;
    },
    logPath: (node) => join(logDir, node, 'events.db'),
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
    presence: () => presence.map((p) => ({ ...p })),
    holders: () => [...open.keys()],
    overlaps() {
      const out: { a: Presence; b: Presence; ms: number }[] = [];
      for (const [i, a] of presence.entries()) {
        for (const b of presence.slice(i + 1)) {
          if (a.node === b.node) continue;
          const ms = Math.min(a.to, b.to) - Math.max(a.from, b.from);
          if (ms >= 0) out.push({ a, b, ms });
        }
      }
      return out;
    },
    answers: () => [...answers],
    maxSampleGapMs: () => maxGap,
    transitionUncertaintyMs: () => maxTransitionGap,
    async settled(node, timeoutMs = 20_000) {
      return waitFor(`${node ?? 'one node'} alone holding the VIP, answering the client`, () => {
        const h = [...open.keys()];
        const last = answers.at(-1);
        return h.length === 1 && (node === undefined || h[0] === node) && last?.answer === h[0] ? h[0] : undefined;
      }, timeoutMs, 10);
    },
    async firewall(node, rules) {
      const chain = (name: string, hook: string, body: string[] = []) => `add chain inet vgcut ${name} { type filter hook ${hook} priority -10; policy accept; }\n${body.map((r) => `add rule inet vgcut ${name} ${r}`).join('\n')}`;
      await t.exec(node, ['nft', `add table inet vgcut\n${chain('in', 'input', rules.input)}\n${chain('out', 'output', rules.output)}`]);
      return async () => void (await t.exec(node, ['nft', 'delete table inet vgcut'], { allowFail: true }));
    },
    events: (node, types) => readEvents(join(logDir, node, 'events.db'), types),
    async destroy() {
      for (const c of services.values()) expectedEnd.add(c);
      await Promise.all([...services.values()].map((c) => c.stop(3000)));
      await zk!.stop();
      await t.destroy();
      tmp.remove();
    },
  };
  return cluster;
}

/** A cluster with n1 holding the VIP and every other node's fence connected, running these services on each node. */
export async function startSettledCluster(o: FencedClusterOptions = {}, services: ServiceName[] = ['fence', 'vrrp']): Promise<FencedCluster> {
  const c = await startFencedCluster(o);
  try {
    c.start('n1', services);
    await c.settled('n1');
    for (const n of c.nodes.slice(1)) c.start(n, services);
    for (const n of c.nodes.slice(1)) await c.fenceReady(n);
  } catch (err) {
    await c.destroy();
    throw err;
  }
  return c;
}
