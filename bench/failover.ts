// Client-observed VIP failover between two fenced nodes in namespaces, with real
// ZooKeeper: from the fault (SIGKILL of the holder's services, or SIGTERM) to the first
// answer from the new holder; plus the unowned time and the overlap (both nodes holding
// the VIP) as sampled by the independent observers.
import { startFencedCluster, type FencedCluster } from '../test/harness/fenced.js';
import { waitFor } from '../test/harness/process.js';
import { median, percentile, printTable } from './stats.js';

const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 20);
// The shortest session vigil allows for fenced VIPs (MIN_SESSION_TIMEOUT_S); try 1.5 with BENCH_SESSION_TIMEOUT.
const SESSION_S = Number(process.env.BENCH_SESSION_TIMEOUT ?? 1.3);
const clock = () => performance.timeOrigin + performance.now();

interface Run {
  failoverMs: number;
  unownedMs: number;
}

async function once(c: FencedCluster, signal: NodeJS.Signals): Promise<Run> {
  await c.settled('n1', 30_000);
  await new Promise((r) => setTimeout(r, 300)); // let renewals and GARP settle
  const at = clock();
  await c.signal('n1', ['vrrp', 'fence'], signal);
  const first = await waitFor('an answer from n2', () => c.answers().find((a) => a.t >= at && a.answer === 'n2'), 10_000, 2);
  await waitFor('the observer of n2', () => c.presence().find((p) => p.node === 'n2' && p.from >= at), 2000, 2);
  const gone = c.presence().filter((p) => p.node === 'n1' && p.from < at).at(-1)!.to;
  const back = c.presence().find((p) => p.node === 'n2' && p.from >= at)!.from;
  c.start('n1');
  return { failoverMs: first.t - at, unownedMs: back - gone };
}

function rows(label: string, runs: Run[], target: number) {
  const f = runs.map((r) => r.failoverMs).sort((a, b) => a - b);
  const u = runs.map((r) => r.unownedMs).sort((a, b) => a - b);
  return [
    { metric: `${label}: failover median`, value: `${median(f).toFixed(0)} ms`, target: `<= ${target} ms`, ok: median(f) <= target },
    { metric: `${label}: failover p90 / max`, value: `${percentile(f, 90).toFixed(0)} / ${f.at(-1)!.toFixed(0)} ms` },
    { metric: `${label}: unowned median / max`, value: `${median(u).toFixed(0)} / ${u.at(-1)!.toFixed(0)} ms` },
  ];
}

export async function benchFailover(): Promise<void> {
  const c = await startFencedCluster({ sessionTimeout: SESSION_S });
  try {
    c.start('n1');
    await c.settled('n1');
    c.start('n2');
    await c.fenceReady('n2');
    const crash: Run[] = [];
    const graceful: Run[] = [];
    for (let i = 0; i < RUNS; i++) crash.push(await once(c, 'SIGKILL'));
    for (let i = 0; i < RUNS; i++) graceful.push(await once(c, 'SIGTERM'));
    const overlaps = c.overlaps();
    printTable(`VIP failover, client-observed (${RUNS} runs each; ZooKeeper session ${SESSION_S} s, VRRPv3 adverts 100 ms; keepalived advert_int 1 here: ~3.0 s crash, ~0.6 s graceful)`, [
      ...rows('crash (SIGKILL vrrp+fence)', crash, 1500),
      ...rows('graceful (SIGTERM)', graceful, 100),
      { metric: 'overlap (both nodes holding the VIP)', value: `${overlaps.length} times`, target: '0', ok: overlaps.length === 0 },
      { metric: 'observer max sampling gap', value: `${c.maxSampleGapMs().toFixed(1)} ms` },
    ]);
  } finally {
    await c.destroy();
  }
}
