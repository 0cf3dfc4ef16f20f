// Client-observed VIP failover on one topology, vigil against keepalived in the same run:
// three directors in namespaces (priorities 150, 100, 50), real ZooKeeper, a client asking
// the VIP every 5 ms and an observer sampling each director's interfaces every 2 ms.
//
// For each contender (keepalived VRRPv2 with 1 s adverts, keepalived VRRPv3 with 100 ms,
// vigil's defaults, vigil's `profile: fast`), RUNS rounds of each fault on the holder n1:
//   crash     SIGKILL (keepalived's process group; vigil's vrrp and fence services): from the
//             kill to the first answer from another director;
//   graceful  SIGTERM: likewise;
//   preempt   n1 started again after each fault: from the start to its first answer.
// Overlap: both directors holding the VIP at once, per the observers. A keepalived killed
// leaves its VIP on the interface (two holders until someone removes it): counted, then
// removed by the bench before the restart, as an operator would.
//
//   npm run bench -- failover       BENCH_FAILOVER_RUNS (20), BENCH_FAILOVER_ONLY=ka2,ka3,vigil,fast,election
//                                   BENCH_ELECTION_ROUNDS (5)
//
// Then, apart: what a ZooKeeper leader election does to each profile's session.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKeepalived, type Keepalived } from '../test/harness/keepalived.js';
import { startFencedCluster, VIP, type FencedCluster } from '../test/harness/fenced.js';
import { waitFor } from '../test/harness/process.js';
import { longestOutage } from '../lab/observers.js';
import { median, percentile, printTable, type Row } from './stats.js';

const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 20);
const ONLY = process.env.BENCH_FAILOVER_ONLY?.split(',');
const NODES = ['n1', 'n2', 'n3'];
const PRIORITIES: Record<string, number> = { n1: 150, n2: 100, n3: 50 };
const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Contender {
  key: string;
  label: string;
  /** Starts the HA agent on a node. */
  start(c: FencedCluster, node: string): void;
  crash(c: FencedCluster, node: string): Promise<void>;
  stop(c: FencedCluster, node: string): Promise<void>;
  /** The longest advert interval's worth of random delay before a fault (faults land anywhere in the advert cycle). */
  jitterMs: number;
  targets?: { crash: number; crashMax?: number; graceful?: number; preempt?: number };
}

interface Run {
  ms: number;
  preemptMs: number;
  overlapMs: number;
  /** The VIP still on the faulted node after another answered for it. */
  leftBehind: boolean;
}

function keepalived(version: 2 | 3, advertInt: number): Contender {
  const running = new Map<string, Keepalived>();
  return {
    key: `ka${version}`,
    label: `keepalived 2.2.7, VRRPv${version}, adverts ${advertInt * 1000} ms`,
    jitterMs: advertInt * 1000,
    start(c, node) {
      // A SIGKILLed keepalived leaves its pid files, and its VRRP child may linger as a zombie
      // that makes the next start say "daemon is already running": what an operator clears.
      for (const f of [`ka-${node}.pid`, `ka-vrrp-${node}.pid`]) rmSync(join(c.dir, f), { force: true });
      running.set(node, startKeepalived(c.t, { host: node, dir: c.dir, version, vrid: 51, priority: PRIORITIES[node]!, advertInt, vip: `${VIP}/32` }));
    },
    async crash(_c, node) {
      await running.get(node)!.crash();
    },
    async stop(_c, node) {
      await running.get(node)!.stop();
    },
  };
}

function vigil(profile: 'default' | 'fast'): Contender {
  return {
    key: profile === 'fast' ? 'fast' : 'vigil',
    label: profile === 'fast' ? 'vigil, profile: fast (session 0.4 s, VRRPv3 100 ms)' : 'vigil defaults (session 1.5 s, VRRPv2 1 s)',
    jitterMs: profile === 'fast' ? 100 : 1000,
    targets: profile === 'fast' ? { crash: 500, crashMax: 700, graceful: 50, preempt: 500 } : { crash: 1500 },
    start(c, node) {
      c.start(node, ['vrrp', 'fence']);
    },
    async crash(c, node) {
      await c.signal(node, ['vrrp', 'fence'], 'SIGKILL');
    },
    async stop(c, node) {
      await c.signal(node, ['vrrp', 'fence'], 'SIGTERM');
    },
  };
}

/** The observers' overlaps that began in [from, to): how long two directors held the VIP at once (ms; Infinity while still so). */
function overlapSince(c: FencedCluster, from: number, to: number): number {
  return c.overlaps().filter((o) => Math.max(o.a.from, o.b.from) >= from && Math.max(o.a.from, o.b.from) < to)
    .reduce((sum, o) => sum + Math.min(o.a.to, o.b.to) - Math.max(o.a.from, o.b.from), 0);
}

async function round(c: FencedCluster, who: Contender, fault: 'crash' | 'graceful'): Promise<Run> {
  await c.settled('n1', 60_000);
  await sleep(300 + Math.random() * who.jitterMs);
  const at = clock();
  await (fault === 'crash' ? who.crash(c, 'n1') : who.stop(c, 'n1'));
  const first = await waitFor('an answer from another director', () => c.answers().find((a) => a.t >= at && a.answer !== null && a.answer !== 'n1'), 20_000, 2);
  await sleep(300);
  const leftBehind = c.holders().includes('n1');
  if (leftBehind) await c.t.exec('n1', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', c.t.hosts.n1!.ifname], { allowFail: true });
  await waitFor('n1 to hold nothing', () => (c.holders().includes('n1') ? undefined : true), 5000, 5);
  const overlapMs = overlapSince(c, at - 50, clock());
  const started = clock();
  who.start(c, 'n1');
  const back = await waitFor('n1 answering again', () => c.answers().find((a) => a.t >= started && a.answer === 'n1'), 30_000, 2);
  return { ms: first.t - at, preemptMs: back.t - started, overlapMs, leftBehind };
}

const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${median(s).toFixed(0)} / ${percentile(s, 90).toFixed(0)} / ${s.at(-1)!.toFixed(0)} ms`;
};

function rows(who: Contender, crash: Run[], graceful: Run[]): Row[] {
  const t = who.targets;
  const c = crash.map((r) => r.ms);
  const g = graceful.map((r) => r.ms);
  const p = [...crash, ...graceful].map((r) => r.preemptMs);
  const overlapping = [...crash, ...graceful].filter((r) => r.overlapMs > 0);
  const check = (xs: number[], target: number | undefined, max?: number) =>
    target === undefined ? {} : { target: `median <= ${target}${max ? `, max <= ${max}` : ''} ms`, ok: median(xs) <= target && (max === undefined || Math.max(...xs) <= max) };
  return [
    { metric: 'crash (SIGKILL): failover median / p90 / max', value: fmt(c), ...check(c, t?.crash, t?.crashMax) },
    { metric: 'crash: VIP left on the killed node', value: `${crash.filter((r) => r.leftBehind).length}/${crash.length}` },
    { metric: 'graceful (SIGTERM): median / p90 / max', value: fmt(g), ...check(g, t?.graceful) },
    { metric: 'preemption (n1 started again): median / p90 / max', value: fmt(p), ...check(p, t?.preempt) },
    {
      metric: 'overlap (two holders, observers)', value: `${overlapping.length}/${crash.length + graceful.length} runs${overlapping.length ? `, up to ${Math.max(...overlapping.map((r) => r.overlapMs)).toFixed(0)} ms` : ''}`,
      ...(who.key.startsWith('ka') ? {} : { target: '0 runs', ok: overlapping.length === 0 }),
    },
  ];
}

/**
 * What a ZooKeeper leader election (3 servers, tickTime 100 ms; the leader SIGKILLed, then
 * started again) does to the VIP with each profile's session: the longest time the client
 * got no answer, and how often the lease moved.
 */
async function election(profile: 'default' | 'fast', rounds: number): Promise<Row[]> {
  const c = await startFencedCluster({ zkServers: 3, profile });
  try {
    c.start('n1');
    await c.settled('n1');
    c.start('n2');
    await c.fenceReady('n2');
    const outages: number[] = [];
    let moved = 0;
    for (let i = 0; i < rounds; i++) {
      await c.settled('n1', 60_000);
      const bound = c.events('n1', ['vip.bound']).length + c.events('n2', ['vip.bound']).length;
      const leader = await waitFor('a ZooKeeper leader', () => c.zk.leader(), 30_000);
      const at = clock();
      await leader.kill();
      await sleep(3000);
      await leader.start();
      await c.settled(undefined, 60_000);
      await sleep(500);
      outages.push(longestOutage(c.answers(), at));
      if (c.events('n1', ['vip.bound']).length + c.events('n2', ['vip.bound']).length > bound) moved += 1;
    }
    return [
      { metric: `${profile === 'fast' ? 'profile: fast (0.4 s)' : 'defaults (1.5 s)'}: longest outage median / max`, value: `${median(outages).toFixed(0)} / ${Math.max(...outages).toFixed(0)} ms` },
      { metric: `${profile === 'fast' ? 'profile: fast (0.4 s)' : 'defaults (1.5 s)'}: elections after which the VIP was bound again`, value: `${moved}/${rounds}` },
      { metric: `${profile === 'fast' ? 'profile: fast (0.4 s)' : 'defaults (1.5 s)'}: overlap`, value: `${c.overlaps().length}`, target: '0', ok: c.overlaps().length === 0 },
    ];
  } finally {
    await c.destroy();
  }
}

export async function benchFailover(): Promise<void> {
  const contenders = [keepalived(2, 1), keepalived(3, 0.1), vigil('default'), vigil('fast')].filter((x) => !ONLY || ONLY.includes(x.key));
  if (contenders.length > 0) await sideBySide(contenders);
  if (!ONLY || ONLY.includes('election')) {
    const rounds = Number(process.env.BENCH_ELECTION_ROUNDS ?? 5);
    printTable(`ZooKeeper leader killed (3 servers, tickTime 100 ms), ${rounds} rounds, 2 directors`, [...(await election('default', rounds)), ...(await election('fast', rounds))]);
  }
}

/** Every contender on one topology, one after the other. */
async function sideBySide(contenders: Contender[]): Promise<void> {
  const c = await startFencedCluster({ nodes: NODES, priorities: PRIORITIES, profile: 'default' });
  const defaults = readFileSync(c.configFile, 'utf8');
  const summary: Record<string, Record<string, number>> = {};
  try {
    for (const who of contenders) {
      writeFileSync(c.configFile, who.key === 'fast' ? defaults.replace(/^cluster: test$/m, 'cluster: test\nprofile: fast') : defaults);
      for (const n of NODES) who.start(c, n);
      const crash: Run[] = [];
      const graceful: Run[] = [];
      for (let i = 0; i < RUNS; i++) crash.push(await round(c, who, 'crash'));
      for (let i = 0; i < RUNS; i++) graceful.push(await round(c, who, 'graceful'));
      for (const n of NODES) await who.stop(c, n);
      await sleep(500);
      printTable(`${who.label}: ${RUNS} runs each, 3 directors, client every 5 ms, observers every 2 ms`, rows(who, crash, graceful));
      summary[who.key] = { crash: median(crash.map((r) => r.ms)), graceful: median(graceful.map((r) => r.ms)), preempt: median([...crash, ...graceful].map((r) => r.preemptMs)) };
    }
    const base = summary.ka3;
    if (base && summary.fast) {
      printTable('vigil profile: fast against keepalived VRRPv3 100 ms (ratio of medians, same run)', (['crash', 'graceful', 'preempt'] as const).map((k) => ({ metric: k, value: `${(summary.fast![k]! / base[k]!).toFixed(2)}x` })));
    }
    printTable('observer', [{ metric: 'max sampling gap', value: `${c.maxSampleGapMs().toFixed(1)} ms` }]);
  } catch (err) {
    c.keepFolder();
    console.error(`failover bench failed; its files (configuration, every process's log) are kept in ${c.dir}`);
    throw err;
  } finally {
    await c.destroy();
  }
}
