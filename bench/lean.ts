// Idle cost of a director: two vigil directors (every service this kernel can run; one
// VRRPv2 instance at 1 s adverts, one VIP group, a virtual server with two real servers
// checked every 6 s) and two keepalived nodes with the same VRRP configuration (VRRP only:
// keepalived's checker needs IPVS in the kernel), in one topology of namespaces, in the
// same run. CPU from /proc over LEAN_SECONDS (default 60) after a 10 s warm-up; RSS and
// PSS at the end. ZooKeeper and NATS are not counted (keepalived has no equivalent).
import { join } from 'node:path';
import { startLab, type ServiceName } from '../lab/cluster.js';
import { kernelHasIpvs } from '../lab/demo.js';
import { startKeepalived } from '../test/harness/keepalived.js';
import { CLI, ROOT } from '../test/harness/node.js';
import { childPids, cpuSeconds, pssMiB, rssMiB } from './proc.js';
import { printTable } from './stats.js';

const SECONDS = Number(process.env.LEAN_SECONDS ?? 60);
const VIP = '10.77.0.100';
const KA_VIP = '10.77.0.101';
const RS_PORT = 8080;

export async function benchLean(): Promise<void> {
  const services: ServiceName[] = ['vrrp', 'fence', 'health', 'relay', ...(kernelHasIpvs() ? ['ipvs' as const] : [])];
  const k = await startLab({
    nodes: ['d1', 'd2'], extraHosts: ['k1', 'k2', 'r1', 'r2'], nats: true, folder: 'bench-lean', vip: VIP, vipPort: RS_PORT, cli: CLI, labDist: join(ROOT, 'dist/lab'), cwd: ROOT,
    config: ({ t, zk, nats, dir }) => `cluster: lean
nodes:
  d1: { address: ${t.hosts.d1!.address} }
  d2: { address: ${t.hosts.d2!.address} }
log: { path: '${join(dir, '{node}', 'events.db')}' }
zookeeper: { hosts: [${zk.connectString}], session_timeout: 2 }
nats: { servers: ["${nats!.url}"] }
vrrp_instances:
  VI_1:
    interface: placeholder0
    virtual_router_id: 51
    version: 2
    advert_int: 1
    nodes:
      d1: { interface: ${t.hosts.d1!.ifname}, priority: 150 }
      d2: { interface: ${t.hosts.d2!.ifname}, priority: 100 }
vip_groups:
  web: { instance: VI_1, addresses: [${VIP}/32] }
virtual_servers:
  web:
    ip: ${VIP}
    port: ${RS_PORT}
    lb_kind: NAT
    delay_loop: 6
    real_servers:
      - { ip: ${t.hosts.r1!.address}, port: ${RS_PORT}, checks: [{ type: TCP_CHECK }] }
      - { ip: ${t.hosts.r2!.address}, port: ${RS_PORT}, checks: [{ type: TCP_CHECK }] }
`,
  });
  try {
    for (const rs of ['r1', 'r2']) k.t.spawn(rs, [process.execPath, join(ROOT, 'dist/lab/http-server.js'), rs, k.t.hosts[rs]!.address, String(RS_PORT), join(k.dir, `${rs}.down`)], { stdio: ['ignore', 'ignore', 'ignore'] });
    k.start('d1', services);
    await k.settled('d1', 30_000);
    k.start('d2', services);
    await k.fenceReady('d2');
    const ka = ['k1', 'k2'].map((host, i) => startKeepalived(k.t, { host, dir: k.dir, version: 2, vrid: 52, priority: 150 - 50 * i, advertInt: 1, vip: `${KA_VIP}/32` }));
    await new Promise((r) => setTimeout(r, 10_000)); // warm-up: elections, first checks, JIT

    const procs: { who: string; role: string; pid: number }[] = [];
    for (const [node, role] of [['d1', 'master'], ['d2', 'backup']] as const) for (const s of services) procs.push({ who: `vigil ${s}`, role, pid: k.pid(node, s)! });
    ka.forEach((x, i) => {
      const role = i === 0 ? 'master' : 'backup';
      procs.push({ who: 'keepalived (parent)', role, pid: x.child.pid });
      for (const c of childPids(x.child.pid)) procs.push({ who: 'keepalived (vrrp)', role, pid: c });
    });
    const before = procs.map((p) => cpuSeconds(p.pid).total);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const cpu = procs.map((p, i) => ((cpuSeconds(p.pid).total - before[i]!) / SECONDS) * 100);
    const rows = procs.map((p, i) => ({ metric: `${p.role} ${p.who}`, value: `${cpu[i]!.toFixed(2)} % CPU, RSS ${rssMiB(p.pid).toFixed(0)} MiB, PSS ${pssMiB(p.pid).toFixed(0)} MiB` }));
    for (const role of ['master', 'backup']) {
      for (const who of ['vigil', 'keepalived']) {
        const mine = procs.map((p, i) => ({ p, i })).filter(({ p }) => p.role === role && p.who.startsWith(who));
        const c = mine.reduce((a, { i }) => a + cpu[i]!, 0);
        const rss = mine.reduce((a, { p }) => a + rssMiB(p.pid), 0);
        const pss = mine.reduce((a, { p }) => a + pssMiB(p.pid), 0);
        rows.push({ metric: `${role} ${who}, all processes`, value: `${c.toFixed(2)} % CPU, RSS ${rss.toFixed(0)} MiB, PSS ${pss.toFixed(0)} MiB` });
      }
    }
    printTable(`Idle director over ${SECONDS} s: vigil (${services.join(', ')}) and keepalived (VRRP), one VRRPv2 instance at 1 s`, rows);
    for (const x of ka) await x.stop();
  } finally {
    await k.destroy();
  }
}
