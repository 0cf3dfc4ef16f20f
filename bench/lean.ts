// Idle cost of a director: two vigil directors (every service this kernel can run; one
// VRRPv2 instance at 1 s adverts, one VIP group, a virtual server with two real servers
// checked every 6 s) and two keepalived nodes with the same VRRP configuration (VRRP only:
// keepalived's checker needs IPVS in the kernel), in one topology of namespaces, in the
// same run. CPU from /proc over LEAN_SECONDS (default 60) after a warm-up of LEAN_WARMUP
// seconds (default 180: the services' start-up work done, elections, first checks, the
// JIT's first compilations, the checkpoint thread's first look at the log, the start-up
// pages' unmapping 45 s after start and the ~2 minutes in which an idle service maps back
// what it still uses); RSS and PSS at the end, and their growth from the run's first minute
// to its last (medians of samples every 10 s: LEAN_SECONDS=600 is the 10-minute idle run).
// Each vigil service is counted with its helpers (ip, the dead man's switch, probes:
// running or reaped). ZooKeeper and NATS are not counted (keepalived has
// no equivalent). Then VRRP at scale: 100 and 250 VRRPv3 instances at 100 ms, the vrrp
// service against keepalived's VRRP process, master and backup, side by side.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type ServiceName } from '../lab/cluster.js';
import { kernelHasIpvs } from '../lab/demo.js';
import { createTopology } from '../lab/netns.js';
import { startKeepalived } from '../test/harness/keepalived.js';
import { CLI, ROOT } from '../test/harness/node.js';
import { tempDir } from '../test/harness/tmp.js';
import { childPids, treeCpuSeconds, treeMemory } from './proc.js';
import { median, printTable, type Row } from './stats.js';

const SECONDS = Number(process.env.LEAN_SECONDS ?? 60);
const WARMUP_MS = Number(process.env.LEAN_WARMUP ?? 180) * 1000;
/** The scale cases measure CPU only: their start-up's transient is over within a minute. */
const SCALE_WARMUP_MS = Number(process.env.LEAN_WARMUP ?? 60) * 1000;
// LEAN_CASES: which of idle, 100, 250 to run (default all). LEAN_NICE: every service at
// this nice value (default: the configuration's defaults, vrrp and fence at -10), to
// measure beside other work without disturbing it.
const NICE = process.env.LEAN_NICE;
const globalDefs = NICE === undefined ? '' : `global_defs: { vrrp_priority: ${NICE}, checker_priority: ${NICE} }\n`;
const VIP = '10.77.0.100';
const KA_VIP = '10.77.0.101';
const RS_PORT = 8080;

export async function benchLean(): Promise<void> {
  const cases = (process.env.LEAN_CASES ?? 'idle,100,250').split(',');
  if (cases.includes('idle')) await idleDirector();
  for (const n of [100, 250]) if (cases.includes(String(n))) await vrrpAtScale(n);
}

interface Measured { who: string; role: string; pid: number }

/** RSS growth also as its anonymous part: the process's own memory (a leak shows there); the rest is pages of files mapped again. */
interface Measurement { cpu: number; rss: number; pss: number; rssGrowth: number; anonGrowth: number; pssGrowth: number }

const SAMPLE_MS = 10_000;

/**
 * How much a process's memory grew over the run, robust to the heap's saw-tooth: the median
 * of the last minute's samples (one every 10 s) less that of the first minute's. A run
 * shorter than two minutes: the last sample less the first.
 */
function growth(samples: number[]): number {
  const perMinute = Math.round(60_000 / SAMPLE_MS);
  if (samples.length < 2 * perMinute) return samples.at(-1)! - samples[0]!;
  return median(samples.slice(-perMinute)) - median(samples.slice(0, perMinute));
}

/**
 * CPU % of a core of each process tree over SECONDS, its memory at the end and how much it
 * grew meanwhile (RSS: PSS also moves when other processes sharing its pages start or end).
 * LEAN_SERIES=PATH: every sample, as JSON lines appended to PATH, to draw the curves.
 */
async function measure(procs: Measured[]): Promise<Measurement[]> {
  expectRunning(procs, 'before');
  const cpu0 = procs.map((p) => treeCpuSeconds(p.pid));
  const samples: ReturnType<typeof treeMemory>[][] = procs.map(() => []);
  const series = process.env.LEAN_SERIES;
  const sample = (t: number) => procs.forEach((p, i) => {
    const m = treeMemory(p.pid);
    samples[i]!.push(m);
    if (series) appendFileSync(series, JSON.stringify({ t, who: p.who, role: p.role, ...m }) + '\n');
  });
  const start = Date.now();
  sample(0);
  const end = SECONDS * 1000;
  for (let t = Math.min(SAMPLE_MS, end); ; t = Math.min(t + SAMPLE_MS, end)) {
    await new Promise((r) => setTimeout(r, start + t - Date.now()));
    sample(t / 1000);
    if (t === end) break;
  }
  const elapsed = (Date.now() - start) / 1000;
  expectRunning(procs, 'during');
  return procs.map((p, i) => {
    const s = samples[i]!;
    return { cpu: ((treeCpuSeconds(p.pid) - cpu0[i]!) / elapsed) * 100, ...s.at(-1)!, rssGrowth: growth(s.map((x) => x.rss)), anonGrowth: growth(s.map((x) => x.anon)), pssGrowth: growth(s.map((x) => x.pss)) };
  });
}

/** A process that ended would read as 0 % and 0 MiB: an error, not a figure. */
function expectRunning(procs: Measured[], when: 'before' | 'during'): void {
  const gone = procs.filter((p) => !existsSync(`/proc/${p.pid}`));
  if (gone.length > 0) throw new Error(`${gone.map((p) => `${p.role} ${p.who} (pid ${p.pid})`).join(', ')} ended ${when} the measurement (its log is kept)`);
}

const keepalivedProcs = (pids: number[]): Measured[] =>
  pids.flatMap((pid, i) => {
    const role = i === 0 ? 'master' : 'backup';
    return [{ who: 'keepalived (parent)', role, pid }, ...childPids(pid).map((c) => ({ who: 'keepalived (vrrp)', role, pid: c }))];
  });

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const line = (m: Measurement) => `${m.cpu.toFixed(2)} % CPU, RSS ${m.rss.toFixed(0)} MiB (${signed(m.rssGrowth)} first to last minute, anonymous ${signed(m.anonGrowth)}), PSS ${m.pss.toFixed(0)} MiB (${signed(m.pssGrowth)})`;

async function idleDirector(): Promise<void> {
  // All five; where the kernel has no IPVS the ipvs service runs as it would on such a node
  // (it said so once and retries, one ipvsadm each 30 s): its memory is a whole service's,
  // its CPU near one that looks at /proc/net/ip_vs each 10 s and runs ipvsadm each minute.
  const services: ServiceName[] = ['vrrp', 'fence', 'health', 'relay', 'ipvs'];
  const ipvsNote = kernelHasIpvs() ? '' : '; this kernel has no IPVS: the ipvs service waits for it';
  const k = await startLab({
    nodes: ['d1', 'd2'], extraHosts: ['k1', 'k2', 'r1', 'r2'], nats: true, folder: 'bench-lean', vip: VIP, vipPort: RS_PORT, cli: CLI, labDist: join(ROOT, 'dist/lab'), cwd: ROOT,
    config: ({ t, zk, nats, dir }) => `cluster: lean
nodes:
  d1: { address: ${t.hosts.d1!.address} }
  d2: { address: ${t.hosts.d2!.address} }
log: { path: '${join(dir, '{node}', 'events.db')}' }
${globalDefs}zookeeper: { hosts: [${zk.connectString}], session_timeout: 2 }
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
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const procs: Measured[] = [];
    for (const [node, role] of [['d1', 'master'], ['d2', 'backup']] as const) for (const s of services) procs.push({ who: `vigil ${s}`, role, pid: k.pid(node, s)! });
    procs.push(...keepalivedProcs(ka.map((x) => x.child.pid)));
    const m = await measure(procs);
    const rows: Row[] = procs.map((p, i) => ({ metric: `${p.role} ${p.who}`, value: line(m[i]!) }));
    const add = (a: Measurement, b: Measurement): Measurement => ({ cpu: a.cpu + b.cpu, rss: a.rss + b.rss, pss: a.pss + b.pss, rssGrowth: a.rssGrowth + b.rssGrowth, anonGrowth: a.anonGrowth + b.anonGrowth, pssGrowth: a.pssGrowth + b.pssGrowth });
    for (const role of ['master', 'backup']) {
      const vigil = procs.flatMap((p, i) => (p.role === role && p.who.startsWith('vigil') ? [m[i]!] : [])).reduce(add);
      // keepalived's parent's tree holds its VRRP child: it is the total
      const keepalived = m[procs.findIndex((p) => p.role === role && p.who === 'keepalived (parent)')]!;
      rows.push({ metric: `${role} vigil, all processes`, value: line(vigil), target: '<= 0.5 %, <= 250 MiB', ok: vigil.cpu <= 0.5 && vigil.rss <= 250 }, { metric: `${role} keepalived, all processes`, value: line(keepalived) });
    }
    printTable(`Idle director over ${SECONDS} s: vigil (${services.join(', ')}) and keepalived (VRRP), one VRRPv2 instance at 1 s${ipvsNote}`, rows);
    for (const x of ka) await x.stop();
  } catch (err) {
    k.keepFolder();
    throw err;
  } finally {
    await k.destroy();
  }
}

/**
 * n VRRPv3 instances at 100 ms on two nodes (one master of all, one backup), for the vrrp
 * service alone (no fence: VRRP's own cost) and for keepalived's VRRP, in two topologies
 * of their own (the same VRIDs on one segment would be one election), measured at once.
 */
const kaVip = (v: number) => `10.78.${Math.floor(v / 250)}.${(v % 250) + 1}/32`;

async function vrrpAtScale(n: number): Promise<void> {
  const tmp = tempDir(`bench-lean-${n}`);
  const vg = await createTopology({ hosts: ['d1', 'd2'] });
  const kt = await createTopology({ hosts: ['k1', 'k2'] });
  try {
    const vigil = (['d1', 'd2'] as const).map((node, i) => {
      const h = vg.hosts[node]!;
      const lines = [`cluster: lean`, `nodes: { ${node}: {} }`, `log: { path: ${join(tmp.path, node + '.db')} }`, `zookeeper: { hosts: [127.0.0.1:2181] }`, `fence: { required: false }`, globalDefs, `vrrp_instances:`];
      for (let v = 1; v <= n; v++) lines.push(`  VI_${v}: { interface: ${h.ifname}, virtual_router_id: ${v}, version: 3, advert_int: 0.1, priority: ${150 - 50 * i} }`);
      lines.push('vip_groups:'); // one address per advert, as keepalived's
      for (let v = 1; v <= n; v++) lines.push(`  g${v}: { instance: VI_${v}, addresses: [${kaVip(v)}] }`);
      const file = join(tmp.path, `${node}.yaml`);
      writeFileSync(file, lines.join('\n') + '\n');
      return vg.spawn(node, [process.execPath, CLI, 'run', 'vrrp', '--config', file, '--node', node], { logFile: join(tmp.path, `${node}.log`) });
    });
    const more = (priority: number) => Array.from({ length: n - 1 }, (_, v) => ({ vrid: v + 2, priority, vip: kaVip(v + 2) }));
    const ka = ['k1', 'k2'].map((host, i) => startKeepalived(kt, { host, dir: tmp.path, version: 3, vrid: 1, priority: 150 - 50 * i, advertInt: 0.1, vip: kaVip(1), more: more(150 - 50 * i) }));
    // elections settle, the JIT, the checkpoint thread's start-up look at the log (it ends
    // 30 s after the start-up's burst of events) and the unmapping of the start-up's pages (45 s)
    await new Promise((r) => setTimeout(r, SCALE_WARMUP_MS));
    const procs: Measured[] = [
      { who: 'vigil vrrp', role: 'master', pid: vigil[0]!.pid },
      { who: 'vigil vrrp', role: 'backup', pid: vigil[1]!.pid },
      ...keepalivedProcs(ka.map((x) => x.child.pid)).filter((p) => p.who !== 'keepalived (parent)'),
    ];
    const m = await measure(procs);
    printTable(`VRRP at scale over ${SECONDS} s: ${n} VRRPv3 instances at 100 ms (${n * 10} adverts/s), vigil's vrrp service and keepalived's VRRP process`, procs.map((p, i) => ({ metric: `${p.role} ${p.who}`, value: line(m[i]!) })));
    for (const x of ka) await x.stop();
    for (const c of vigil) await c.stop();
  } catch (err) {
    tmp.keep();
    throw err;
  } finally {
    await vg.destroy();
    await kt.destroy();
    tmp.remove();
  }
}
