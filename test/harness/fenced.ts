// A fenced vigil cluster for the tests (lab/cluster.ts): director nodes (vrrp + fence
// each, relay on request), ZooKeeper on its own host, a client host; an independent
// observer per node and a client that keeps connecting to the VIP.
import { join } from 'node:path';
import { startLab, type LabCluster, type LabContext, type ServiceName } from '../../lab/cluster.js';
import { summarize } from '../../shared/eventlog/index.js';
import { outages } from '../../lab/observers.js';
import { CLI, ROOT } from './node.js';
import { afterEach } from 'vitest';
import { keepWhenFailed } from './keep.js';

export type { Answer, Presence, ServiceName } from '../../lab/cluster.js';

/** Wall-clock ms with sub-ms precision, as the observers stamp their records. */
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** For a test file: the cluster a test started (passed through this) is destroyed after it, also when it fails. */
export function clusterPerTest(): (k: FencedCluster) => FencedCluster {
  let current: FencedCluster | undefined;
  afterEach(async () => {
    await current?.destroy();
    current = undefined;
  });
  return (k) => (current = k);
}

export const VIP = '10.77.0.100';
export const VIP_PORT = 8080;

export interface FencedClusterOptions {
  nodes?: string[];
  zkServers?: 1 | 3;
  /**
   * A profile's own settings, as an operator writes it: `profile: fast`, or 'default' (no
   * profile line). Then session, VRRP version, interval and liveness are the profile's
   * unless given here. Without: session 1.5 s, VRRPv3 at 100 ms, liveness 0.3 s.
   */
  profile?: 'default' | 'fast';
  /** Seconds. */
  sessionTimeout?: number;
  /** Seconds (VRRPv3). */
  advertInt?: number;
  priorities?: Record<string, number>;
  /** Nodes whose event log lives on a small disk of its own (16 MiB tmpfs) that a test can fill. */
  smallDisks?: string[];
  /** A client per director pinned to its MAC: who answers for the VIP (answering(), answeringOverlaps()). */
  pinnedClients?: boolean;
  /** zookeeper.failsafe on (with a failsafe_secret). */
  failsafe?: boolean;
}

export type FencedCluster = LabCluster;

type Settings = Required<Omit<FencedClusterOptions, 'smallDisks' | 'profile' | 'sessionTimeout' | 'advertInt' | 'pinnedClients' | 'failsafe'>> & Pick<FencedClusterOptions, 'profile' | 'sessionTimeout' | 'advertInt' | 'failsafe'>;

function config(o: Settings, { t, zk, dir }: LabContext): string {
  const nodes = o.nodes.map((n) => `  ${n}: { address: ${t.hosts[n]!.address} }`).join('\n');
  const perNode = o.nodes.map((n) => `      ${n}: { interface: ${t.hosts[n]!.ifname}, priority: ${o.priorities[n] ?? 100} }`).join('\n');
  return `cluster: test
${o.profile === 'fast' ? 'profile: fast\n' : ''}nodes:
${nodes}
log: { path: '${join(dir, '{node}', 'events.db')}' }
zookeeper: { hosts: [${zk.connectString.split(',').join(', ')}]${o.sessionTimeout !== undefined ? `, session_timeout: ${o.sessionTimeout}` : ''}${o.failsafe ? ', failsafe: true, failsafe_secret: test-failsafe-secret' : ''} }
${o.profile ? '' : 'fence: { liveness_timeout: 0.3 }\n'}vrrp_instances:
  VI_1:
    interface: placeholder0
    virtual_router_id: 51
${o.advertInt !== undefined ? `    version: 3\n    advert_int: ${o.advertInt}\n` : ''}    garp_master_delay: 1
    nodes:
${perNode}
vip_groups:
  web: { instance: VI_1, addresses: [${VIP}/32] }
`;
}

export async function startFencedCluster(options: FencedClusterOptions = {}): Promise<FencedCluster> {
  const o: Settings = {
    nodes: options.nodes ?? ['n1', 'n2'],
    zkServers: options.zkServers ?? 1,
    priorities: options.priorities ?? { n1: 150, n2: 100, n3: 50 },
    ...(options.profile ? { profile: options.profile } : { sessionTimeout: 1.5, advertInt: 0.1 }),
    ...(options.sessionTimeout !== undefined ? { sessionTimeout: options.sessionTimeout } : {}),
    ...(options.advertInt !== undefined ? { advertInt: options.advertInt } : {}),
    ...(options.failsafe ? { failsafe: true } : {}),
  };
  const c = await startLab({
    nodes: o.nodes, zkServers: o.zkServers, folder: 'fenced', vip: VIP, vipPort: VIP_PORT, config: (ctx) => config(o, ctx),
    ...(options.smallDisks ? { smallDisks: options.smallDisks } : {}), ...(options.pinnedClients ? { pinnedClients: true } : {}), cli: CLI, labDist: join(ROOT, 'dist/lab'), cwd: ROOT,
  });
  keepWhenFailed(c);
  return c;
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

/** What the nodes recorded and who held the VIP, in ms after `at`: where the time went when a bound is missed (for failure messages). */
export function timeline(k: FencedCluster, at: number): string {
  const rel = (t: number) => Math.round(t - at);
  const steps = (n: string) => k.events(n, ['fence.zk_state', 'vrrp.state_changed', 'fence.lease_candidate', 'fence.lease_denied', 'fence.lease_acquired', 'vip.bound', 'vip.unbound'])
    .filter((e) => e.ts >= at)
    .map((e) => `${n} @${rel(e.ts)} ${e.type}: ${summarize(e)}`);
  const presence = k.presence().filter((p) => p.to >= at).map((p) => `${p.node} holds ${p.from < at ? 'before' : `@${rel(p.from)}`}..${Number.isFinite(p.to) ? `@${rel(p.to)}` : 'now'}`);
  // a miss or two (5 ms apart) is noise; longer is worth placing among the steps
  const unanswered = outages(k.answers(), at).filter((o) => o.ms >= 20).map((o) => `client unanswered @${rel(o.from)}..@${rel(o.to)}`);
  const stalls = k.clientStalls().filter((s) => s.at >= at).map((s) => `client itself stalled @${rel(s.at)} for ${s.ms} ms`);
  return [...k.nodes.flatMap(steps), ...presence, ...unanswered, ...stalls].join('; ');
}
