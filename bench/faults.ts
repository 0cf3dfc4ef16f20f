// The two faults issue "failsafe" names, measured as a client sees them, on one topology:
// three directors in namespaces (priorities 150, 100, 50), real ZooKeeper, a client asking
// the VIP every 5 ms, observers sampling each director's interfaces every 2 ms.
//
//   cut off   the holder n1 cut from the other directors and the client (nftables in its
//             namespace; ZooKeeper still reachable) for CUT_MS: the client's longest time
//             without an answer, and how long two directors held the VIP at once.
//             keepalived VRRPv3 100 ms against vigil (VRRPv3 100 ms, session 1.5 s).
//   ensemble  the whole ZooKeeper ensemble stopped for DOWN_MS, then started: the client's
//             longest time without an answer, vigil with zookeeper.failsafe off and on.
//
//   npm run bench -- faults        BENCH_FAULTS_RUNS (5)
import { readFileSync, writeFileSync } from 'node:fs';
import { startKeepalived, type Keepalived } from '../test/harness/keepalived.js';
import { startFencedCluster, VIP, type FencedCluster } from '../test/harness/fenced.js';
import { waitFor } from '../test/harness/process.js';
import { waitForQuorum } from '../test/harness/zookeeper.js';
import { longestOutage } from '../lab/observers.js';
import { median, printTable, type Row } from './stats.js';

const RUNS = Number(process.env.BENCH_FAULTS_RUNS ?? 5);
const NODES = ['n1', 'n2', 'n3'];
const PRIORITIES: Record<string, number> = { n1: 150, n2: 100, n3: 50 };
const CUT_MS = 5000;
const DOWN_MS = 5000;
const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two directors holding the VIP at once since `from` (ms, summed; observers). */
function overlapSince(c: FencedCluster, from: number): number {
  return c.overlaps().filter((o) => Math.max(o.a.from, o.b.from) >= from).reduce((sum, o) => sum + Math.min(o.a.to, o.b.to, clock()) - Math.max(o.a.from, o.b.from), 0);
}

async function cutOff(c: FencedCluster): Promise<{ outage: number; overlap: number }> {
  await c.settled('n1', 60_000);
  await sleep(300 + Math.random() * 100);
  const zk = c.t.hosts.zk!.address;
  const from = clock();
  const heal = await c.firewall('n1', { input: ['iif "lo" accept', `ip saddr ${zk} accept`, 'drop'], output: ['oif "lo" accept', `ip daddr ${zk} accept`, 'drop'] });
  await sleep(CUT_MS);
  const to = clock();
  const outage = longestOutage(c.answers().filter((a) => a.t <= to), from);
  const overlap = overlapSince(c, from);
  await heal();
  await c.settled('n1', 60_000);
  return { outage, overlap };
}

async function ensembleDown(c: FencedCluster): Promise<number> {
  await c.settled('n1', 60_000);
  await sleep(500);
  const from = clock();
  await c.zk.servers[0]!.stop();
  await sleep(DOWN_MS);
  await c.zk.servers[0]!.start();
  await waitForQuorum(c.zk);
  await c.settled(undefined, 60_000);
  // The client reports changes of answer: answered now is the last report not being null.
  await waitFor('an answer', () => (c.answers().at(-1)?.answer ? true : undefined), 20_000, 5);
  await sleep(1000);
  return longestOutage(c.answers(), from);
}

const figure = (xs: number[]) => `${median(xs).toFixed(0)} ms (${[...xs].sort((a, b) => a - b).map((x) => x.toFixed(0)).join(', ')})`;

export async function benchFaults(): Promise<void> {
  const c = await startFencedCluster({ nodes: NODES, priorities: PRIORITIES, sessionTimeout: 1.5, advertInt: 0.1, failsafe: true });
  const withFailsafe = readFileSync(c.configFile, 'utf8');
  const withoutFailsafe = withFailsafe.replace(', failsafe: true, failsafe_secret: test-failsafe-secret', '');
  const rows: Row[] = [];
  try {
    // keepalived, the holder cut off
    const ka = new Map<string, Keepalived>();
    for (const n of NODES) ka.set(n, startKeepalived(c.t, { host: n, dir: c.dir, version: 3, vrid: 51, priority: PRIORITIES[n]!, advertInt: 0.1, vip: `${VIP}/32` }));
    const kaCut: { outage: number; overlap: number }[] = [];
    for (let i = 0; i < RUNS; i++) kaCut.push(await cutOff(c));
    for (const k of ka.values()) await k.stop();
    await sleep(500);
    rows.push({ metric: 'holder cut off 5 s, keepalived VRRPv3 100 ms: client outage median (runs)', value: figure(kaCut.map((r) => r.outage)) });
    rows.push({ metric: 'holder cut off, keepalived: two holders (observers), median (runs)', value: figure(kaCut.map((r) => r.overlap)) });

    // vigil, the holder cut off (failsafe plays no part: ZooKeeper is up)
    const vigilFrom = clock();
    for (const n of NODES) c.start(n, ['vrrp', 'fence']);
    const viCut: { outage: number; overlap: number }[] = [];
    for (let i = 0; i < RUNS; i++) viCut.push(await cutOff(c));
    rows.push({ metric: 'holder cut off 5 s, vigil VRRPv3 100 ms: client outage median (runs)', value: figure(viCut.map((r) => r.outage)) });
    rows.push({ metric: 'holder cut off, vigil: two holders (observers)', value: figure(viCut.map((r) => r.overlap)), target: '0 in every run', ok: viCut.every((r) => r.overlap === 0) });

    // vigil, the whole ensemble down: failsafe on (as started), then off
    const on: number[] = [];
    for (let i = 0; i < RUNS; i++) on.push(await ensembleDown(c));
    for (const n of NODES) await c.signal(n, ['vrrp', 'fence'], 'SIGTERM');
    writeFileSync(c.configFile, withoutFailsafe);
    for (const n of NODES) c.start(n, ['vrrp', 'fence']);
    const off: number[] = [];
    for (let i = 0; i < RUNS; i++) off.push(await ensembleDown(c));
    rows.push({ metric: `ZooKeeper ensemble down ${DOWN_MS / 1000} s, vigil failsafe off: client outage median (runs)`, value: figure(off) });
    rows.push({ metric: `ZooKeeper ensemble down ${DOWN_MS / 1000} s, vigil failsafe on: client outage median (runs)`, value: figure(on), target: 'median < 100 ms', ok: median(on) < 100 });
    const vigilOverlaps = c.overlaps().filter((o) => Math.max(o.a.from, o.b.from) >= vigilFrom).length;
    rows.push({ metric: 'vigil: two holders at any time (observers)', value: `${vigilOverlaps}`, target: '0', ok: vigilOverlaps === 0 });
    printTable(`faults of issue "failsafe": 3 directors, ${RUNS} runs each, client every 5 ms, observers every 2 ms`, rows);
  } catch (err) {
    c.keepFolder();
    console.error(`faults bench failed; its files are kept in ${c.dir}`);
    throw err;
  } finally {
    await c.destroy();
  }
}
