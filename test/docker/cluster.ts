// vigil deployed as operators deploy it, on the test's own Docker engine: the image built
// from deploy/Dockerfile, the coordination services from deploy/compose/coordination.yml
// and two directors from deploy/compose/director.yml, each a compose project of its own.
// What differs from production is only the network: instead of the host's, each director's
// five service containers share the network namespace of a holder container
// (network_mode: service:holder) on the test's internal macvlan network, beside ZooKeeper,
// NATS, two real servers and a client. The observers of lab/observers.ts run from the host
// inside the holders' and the client's network namespaces (nsenter): they watch the
// directors' interfaces and ask the VIP, trusting nothing of vigil's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EventLog, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { startObservers, type Observers } from '../../lab/observers.js';
import { startChild, type Child } from '../../lab/process.js';
import { tempDir, type TempDir } from '../../lab/tmp.js';
import { ROOT } from '../harness/node.js';
import { baseTarballs, IMPORT_CHANGES } from './base.js';
import { DOCKER, type DockerEngine } from './engine.js';

export const SUBNET = '10.98.0';
export const VIP = `${SUBNET}.100`;
export const VIP_PORT = 8080;
export const SESSION_S = 2;
export const DIRECTORS = ['d1', 'd2'] as const;
export type Director = (typeof DIRECTORS)[number];
export const SERVICES = ['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const;
export type Service = (typeof SERVICES)[number];
const ADDRESS: Record<string, string> = { zk1: '11', zk2: '12', zk3: '13', nats: '14', d1: '21', d2: '22', rs1: '31', rs2: '32', client: '41' };
const ip = (host: string) => `${SUBNET}.${ADDRESS[host]}`;

export const IMAGES = { runtime: 'vigil-test/runtime:1', build: 'vigil-test/build:1', vigil: 'vigil:test', zookeeper: 'vigil-test/zookeeper:1', nats: 'vigil-test/nats:1' };

export function vigilConfig(): string {
  const check = `{ type: HTTP_GET, url: [{ path: /, status_code: 200 }], connect_timeout: 1 }`;
  return `cluster: docker
nodes:
  d1: { address: ${ip('d1')} }
  d2: { address: ${ip('d2')} }
log: { path: /var/lib/vigil/events.db }
zookeeper: { hosts: [${['zk1', 'zk2', 'zk3'].map((z) => `${ip(z)}:2181`).join(', ')}], session_timeout: ${SESSION_S} }
nats: { servers: [nats://${ip('nats')}:4222], stream: VIGIL }
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    version: 3
    advert_int: 0.1
    nodes:
      d1: { priority: 150 }
      d2: { priority: 100 }
vip_groups:
  web: { instance: VI_1, addresses: [${VIP}/24 dev eth0] }
virtual_servers:
  web_http:
    ip: ${VIP}
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: NAT
    delay_loop: 1
    real_servers:
      - { ip: ${ip('rs1')}, port: 80, checks: [${check}] }
      - { ip: ${ip('rs2')}, port: 80, checks: [${check}] }
`;
}

/** Imports the base images and builds vigil's image (deploy/Dockerfile) and the test's ZooKeeper and NATS images. */
export async function buildImages(engine: DockerEngine): Promise<{ importS: number; buildS: number }> {
  const t0 = Date.now();
  const tars = baseTarballs();
  const changes = IMPORT_CHANGES.flatMap((c) => ['--change', c]);
  await engine.docker(['import', ...changes, tars.runtime, IMAGES.runtime], { timeoutMs: 600_000 });
  await engine.docker(['import', ...changes, tars.build, IMAGES.build], { timeoutMs: 600_000 });
  const t1 = Date.now();
  await engine.docker(['build', '--network', 'host', '-f', 'deploy/Dockerfile', '--build-arg', `NODE_IMAGE=${IMAGES.runtime}`, '--build-arg', `BUILD_IMAGE=${IMAGES.build}`, '-t', IMAGES.vigil, '.'], { timeoutMs: 900_000, cwd: ROOT });
  for (const what of ['zookeeper', 'nats'] as const) {
    await engine.docker(['build', '-f', `${what}.Dockerfile`, '--build-arg', `BASE=${IMAGES.build}`, '-t', IMAGES[what], '.'], { timeoutMs: 300_000, cwd: join(ROOT, 'test/docker/images') });
  }
  return { importS: (t1 - t0) / 1000, buildS: (Date.now() - t1) / 1000 };
}

export interface DockerCluster {
  engine: DockerEngine;
  id: string;
  observers: Observers;
  /** The compose project of a director, coordination ('co') or the lab's own hosts ('lab'). */
  project(name: Director | 'co' | 'lab'): string;
  /** docker-compose with the files and environment of that project. */
  compose(name: Director | 'co' | 'lab', args: string[], o?: { allowFail?: boolean; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The container of a director's service (or its holder). */
  container(node: Director, service: Service | 'holder'): string;
  /** The events of a director's log, read from its volume on the host. */
  events(node: Director, types?: readonly string[]): StoredEvent[];
  destroy(): Promise<void>;
}

/** The cluster on the engine; destroy() takes every project down with its volumes, the network and the veth parent. */
export async function startDockerCluster(engine: DockerEngine): Promise<DockerCluster> {
  const id = `vg${randomBytes(2).toString('hex')}`;
  const tmp: TempDir = tempDir('docker');
  const parent = `${id}mv`;
  const network = `${id}net`;
  const files = join(tmp.path, 'compose');
  mkdirSync(files, { recursive: true });
  const configFile = join(tmp.path, 'vigil.yaml');
  writeFileSync(configFile, vigilConfig());
  const observerChildren: Child[] = [];
  const projects: Record<string, { files: string[]; env: NodeJS.ProcessEnv }> = {};
  const project = (name: string) => `${id}${name}`;
  const compose = (name: string, args: string[], o: { allowFail?: boolean; timeoutMs?: number } = {}) => {
    const p = projects[name]!;
    return engine.compose(['-p', project(name), ...p.files.flatMap((f) => ['-f', f]), ...args], { ...o, env: p.env, cwd: ROOT });
  };
  const externalNetwork = { default: { external: { name: network } } };
  const on = (host: string) => ({ networks: { default: { ipv4_address: ip(host) } } });
  const write = (name: string, doc: object) => {
    const f = join(files, `${name}.json`);
    writeFileSync(f, JSON.stringify(doc, null, 2));
    return f;
  };

  const down = async () => {
    for (const c of observerChildren) await c.stop(2000);
    for (const name of Object.keys(projects).reverse()) await compose(name, ['down', '-v', '--remove-orphans', '-t', '20'], { allowFail: true, timeoutMs: 180_000 });
    await engine.docker(['network', 'rm', network], { allowFail: true });
    try {
      execFileSync('ip', ['link', 'del', parent], { stdio: 'ignore' }); // and its peer
    } catch {
      // never made
    }
  };

  try {
    // The internal network: macvlan on one end of a veth pair of the root namespace (our
    // kernels have no dummy links), both ends up and without any address, not even IPv6's
    // link-local: nothing is added to the root namespace's addresses, nothing leaves.
    execFileSync('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `${parent}p`]);
    for (const end of [parent, `${parent}p`]) {
      execFileSync('ip', ['link', 'set', end, 'addrgenmode', 'none']);
      execFileSync('ip', ['link', 'set', end, 'up']);
    }
    await engine.docker(['network', 'create', '-d', 'macvlan', '--internal', '-o', `parent=${parent}`, '-o', 'macvlan_mode=bridge', '--subnet', `${SUBNET}.0/24`, network]);

    const zkHosts = ['zk1', 'zk2', 'zk3'].map((z) => `${z}:${ip(z)}`);
    projects.co = {
      files: [join(ROOT, 'deploy/compose/coordination.yml'), write('co', {
        version: '2.4',
        services: {
          zk1: { ...on('zk1'), extra_hosts: zkHosts },
          zk2: { ...on('zk2'), extra_hosts: zkHosts },
          zk3: { ...on('zk3'), extra_hosts: zkHosts },
          nats: on('nats'),
        },
        networks: externalNetwork,
      })],
      env: { ...process.env, ZOOKEEPER_IMAGE: IMAGES.zookeeper, NATS_IMAGE: IMAGES.nats },
    };
    // Two real servers and the client's host (the client program runs in its namespace).
    const realServer = (name: string) => ({
      image: IMAGES.runtime, ...on(name), init: true,
      command: ['node', '-e', `require('http').createServer((q, s) => s.end('${name}\\n')).listen(80)`],
    });
    projects.lab = {
      files: [write('lab', {
        version: '2.4',
        services: { rs1: realServer('rs1'), rs2: realServer('rs2'), client: { image: IMAGES.runtime, ...on('client'), init: true, command: ['sleep', 'infinity'] } },
        networks: externalNetwork,
      })],
      env: { ...process.env },
    };
    for (const d of DIRECTORS) {
      const shared = { network_mode: 'service:holder', depends_on: ['holder'] };
      projects[d] = {
        files: [join(ROOT, 'deploy/compose/director.yml'), write(d, {
          version: '2.4',
          services: {
            holder: { image: IMAGES.runtime, ...on(d), init: true, command: ['sleep', 'infinity'] },
            ...Object.fromEntries(SERVICES.map((s) => [s, shared])),
          },
          networks: externalNetwork,
        })],
        env: { ...process.env, VIGIL_NODE: d, VIGIL_IMAGE: IMAGES.vigil, VIGIL_CONFIG_FILE: configFile },
      };
    }
    await compose('co', ['up', '-d'], { timeoutMs: 300_000 });
    await compose('lab', ['up', '-d'], { timeoutMs: 300_000 });
    // d1 first: with the higher priority, it is the one that should hold the VIP.
    for (const d of DIRECTORS) await compose(d, ['up', '-d'], { timeoutMs: 300_000 });

    const pidOf = async (container: string) => Number((await engine.docker(['inspect', '-f', '{{.State.Pid}}', container])).stdout.trim());
    const holderOf: Record<string, string> = { d1: `${project('d1')}_holder_1`, d2: `${project('d2')}_holder_1`, client: `${project('lab')}_client_1` };
    const pids: Record<string, number> = {};
    for (const [host, c] of Object.entries(holderOf)) pids[host] = await pidOf(c);
    const volumes: Partial<Record<Director, string>> = {};
    const observers = await startObservers({
      nodes: [...DIRECTORS], clientHost: 'client', vip: VIP, vipPort: VIP_PORT, labDist: join(ROOT, 'dist/lab'), cwd: ROOT,
      spawn: (host, argv, options) => {
        const c = startChild(['nsenter', '-t', String(pids[host]), '-n', '--', ...argv], options);
        observerChildren.push(c);
        return c;
      },
    });
    return {
      engine,
      id,
      observers,
      project,
      compose,
      container: (node, service) => `${project(node)}_${service}_1`,
      events(node, types) {
        // The volume outlives restarts of the containers: asked once per director.
        const volume = (volumes[node] ??= execFileSync(DOCKER, ['volume', 'inspect', '-f', '{{.Mountpoint}}', `${project(node)}_log`], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: engine.host } }).trim());
        const log = EventLog.open({ path: join(volume, 'events.db'), readOnly: true });
        try {
          return log.query(types ? { types: types as EventType[] } : {});
        } finally {
          log.close();
        }
      },
      async destroy() {
        await down();
        tmp.remove();
      },
    };
  } catch (err) {
    await down().catch(() => undefined);
    tmp.remove();
    throw err;
  }
}
