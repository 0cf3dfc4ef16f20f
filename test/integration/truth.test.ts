// What the log and the alerts say about the network, checked against an independent
// observer (a sampler of every node's interfaces, every 2 ms): the outage a failover alert
// reports, the end of a crashed holder's tenure, and alert severities that do not cry wolf.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../shared/eventlog/index.js';
import { KERNEL_EXPIRY_LATE_MS } from '../../shared/postmortem/history.js';
import { startSettledCluster, type FencedCluster, type ServiceName } from '../harness/fenced.js';
import { waitFor } from '../harness/process.js';

const ALL: ServiceName[] = ['fence', 'vrrp', 'relay'];
/** How far a figure in the record may be from what the observer saw (ms). */
const TOLERANCE_MS = 50;

let c: FencedCluster | undefined;
afterEach(async () => {
  await c?.destroy();
  c = undefined;
});

const now = () => performance.timeOrigin + performance.now();

interface Alert {
  id: string;
  kind: string;
  severity: string;
  summary: string;
  details: Record<string, unknown>;
}
const alerts = (k: FencedCluster, node: string): (Alert & { seq: number })[] =>
  k.events(node, ['relay.alert']).map((e: StoredEvent) => ({ ...(e.data as Alert), seq: e.seq }));

/**
 * Two nodes with every service, n1 holding the VIP, both relays running: a relay alerts only
 * on what comes after its first start, and on a busy machine it starts after the fences settle.
 * (Its alert cursor is set before it announces itself in ZooKeeper.)
 */
async function settledWithRelays(): Promise<FencedCluster> {
  const k = (c = await startSettledCluster({ sessionTimeout: 1.5 }, ALL));
  await waitFor('both relays in ZooKeeper', async () => (/\[n1, n2\]/.test(await k.zk.cli(['ls', '/vigil/test/relays'])) ? true : undefined), 30_000, 200);
  return k;
}

/** The warnings and errors in a service's own log (JSON lines), for a failure message. */
function serviceWarnings(k: FencedCluster, node: string, service: ServiceName): string {
  try {
    const lines = readFileSync(join(k.dir, `${node}-${service}.log`), 'utf8').split('\n').filter((l) => /"level":"(warn|error)"/.test(l));
    return lines.length === 0 ? 'none' : lines.slice(-5).map((l) => l.slice(0, 300)).join(' / ');
  } catch (err) {
    return `(no log: ${String(err)})`;
  }
}

/** The observer's figure: from the VIP's last sample on `from` to its first on `to`, after `after`. */
function observedGap(k: FencedCluster, from: string, to: string, after: number): { ms: number; left: number; arrived: number } {
  const left = k.presence().filter((p) => p.node === from && p.to >= after && Number.isFinite(p.to)).at(0)!;
  const arrived = k.presence().find((p) => p.node === to && p.from >= left.to)!;
  return { ms: arrived.from - left.to, left: left.to, arrived: arrived.from };
}

async function failoverAlert(k: FencedCluster, node: string, after: number): Promise<Alert> {
  return waitFor(`a failover alert on ${node}`, () => alerts(k, node).find((a) => a.kind === 'failover' && a.seq > after), 20_000);
}

/** n2's failover alert (after seq from) says how the VIP left n1 and, within TOLERANCE_MS, how long no node had it since `at`. */
async function expectFailoverFigure(k: FencedCluster, from: number, at: number, severity: string, gone: 'lifetime' | 'unbound'): Promise<void> {
  const a = await failoverAlert(k, 'n2', from);
  const seen = observedGap(k, 'n1', 'n2', at);
  expect(a.severity).toBe(severity);
  expect(a.details.gone).toBe(gone);
  // Which end is off when the figures disagree: the old tenure's end, or the bind.
  const bound = k.events('n2', ['vip.bound']).filter((e) => e.seq > 0).at(-1);
  const previous = (bound?.data as { previous?: { gone_at: number } } | undefined)?.previous;
  const ends = `observer: gone from n1 at ${seen.left.toFixed(1)}, on n2 at ${seen.arrived.toFixed(1)}; record: gone_at ${previous?.gone_at ?? '?'} (${previous ? (previous.gone_at - seen.left).toFixed(1) : '?'} ms off), bound ${bound?.ts ?? '?'} (${bound ? (bound.ts - seen.arrived).toFixed(1) : '?'} ms off)`;
  // A crashed holder's end is recorded as when its addresses' lifetime ran out: the kernel
  // (or the dead man's switch, waking on a busy machine) removes them at most
  // KERNEL_EXPIRY_LATE_MS later, never earlier. So the figure may exceed what clients saw by
  // that much, and by no more than TOLERANCE_MS less (the bind's end is exact either way).
  const over = Number(a.details.unowned_ms) - seen.ms;
  const why = `alert says ${String(a.details.unowned_ms)} ms, the observer saw ${seen.ms.toFixed(1)} ms; ${ends}`;
  expect(over, why).toBeGreaterThan(-TOLERANCE_MS);
  expect(over, why).toBeLessThan(TOLERANCE_MS + (gone === 'lifetime' ? KERNEL_EXPIRY_LATE_MS : 0));
}

const readOr = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
/** Still running: exists and is not a zombie (a dead child nobody has reaped yet). */
const running = (pid: number) => {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
};

/** PIDs of a process's children (every thread's). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

const lastSeq = (k: FencedCluster, node: string) => k.events(node, []).at(-1)?.seq ?? 0;

describe('outage figures match what clients saw', () => {
  it("a crash (the holder's fence SIGKILLed): the failover alert's unowned time is the observer's, and the restarted fence closes the crashed tenure when its address really went", async () => {
    const k = await settledWithRelays();
    const from = lastSeq(k, 'n2');
    const epoch = (k.events('n1', ['vip.bound']).at(-1)!.data as { epoch: number }).epoch;
    const children = childrenOf(k.pid('n1', 'fence')!);
    expect(children.length, 'the fence runs ip monitor').toBeGreaterThan(0);
    const at = now();
    await k.signal('n1', ['fence'], 'SIGKILL');
    // its child processes do not outlive it
    const alive = () => children.filter(running).map((p) => `${p} ${readOr(`/proc/${p}/cmdline`).replaceAll('\0', ' ')}`);
    await waitFor("the fence's children to end (the dead man's switch fires first)", () => (alive().length === 0 ? true : undefined), 2000).catch((err: Error) => {
      throw new Error(`${err.message}; still running: ${alive().join(', ')}`);
    });
    await k.settled('n2');
    await expectFailoverFigure(k, from, at, 'warning', 'lifetime');

    // n1's fence comes back: its log closes the tenure of the epoch it held, at the moment its address went.
    k.start('n1', ['fence']);
    const closed = await waitFor("n1's crashed tenure closed", () => k.events('n1', ['vip.unbound']).find((e) => (e.data as { epoch: number }).epoch === epoch));
    const d = closed.data as { gone_at?: number; reason: string };
    const gone = k.presence().filter((p) => p.node === 'n1' && p.to >= at).at(0)!.to;
    expect(d.reason).toMatch(/lifetime ran out/);
    const late = gone - d.gone_at!; // the kernel removes an expired address at its next check, never before
    expect(late, `log says gone at ${d.gone_at}, the observer last saw it at ${gone.toFixed(1)}`).toBeGreaterThan(-TOLERANCE_MS);
    expect(late, `log says gone at ${d.gone_at}, the observer last saw it at ${gone.toFixed(1)}`).toBeLessThan(TOLERANCE_MS + KERNEL_EXPIRY_LATE_MS);
    expect(k.overlaps()).toEqual([]);
  }, 90_000);

  it("a graceful move (the holder's services stopped): a routine failover, info, with the observer's unowned time", async () => {
    const k = await settledWithRelays();
    const from = lastSeq(k, 'n2');
    const at = now();
    await k.signal('n1', ['vrrp', 'fence'], 'SIGTERM');
    await k.settled('n2');
    await expectFailoverFigure(k, from, at, 'info', 'unbound');
    expect(k.overlaps()).toEqual([]);
  }, 90_000);
});

describe('alerts while ZooKeeper is away', () => {
  it('ZooKeeper stopped: each node alerts its own loss once, the VIP its holder released is alerted unowned once; back: both end', async () => {
    const k = await settledWithRelays();
    const since = { n1: lastSeq(k, 'n1'), n2: lastSeq(k, 'n2') };
    const after = (node: 'n1' | 'n2') => alerts(k, node).filter((a) => a.seq > since[node]);
    await k.zk.servers[0]!.stop();
    await waitFor('the unowned VIP alerted', () => after('n1').find((a) => a.kind === 'vip_unowned'), 15_000);
    await new Promise((r) => setTimeout(r, 2000)); // nothing more is owed
    const kindsOf = (node: 'n1' | 'n2') => after(node).map((a) => `${a.severity}/${a.kind}`).sort();
    expect(kindsOf('n1')).toEqual(['critical/vip_unowned', 'critical/zookeeper_lost']);
    expect(kindsOf('n2')).toEqual(['critical/zookeeper_lost']);
    expect(k.holders(), 'no node holds the VIP without ZooKeeper').toEqual([]);
    await k.zk.servers[0]!.start();
    await k.settled(undefined, 30_000);
    for (const n of ['n1', 'n2'] as const) await waitFor(`${n} to say ZooKeeper is back`, () => after(n).find((a) => a.kind === 'zookeeper_back'));
    expect(after('n1').filter((a) => a.kind === 'vip_unowned')).toHaveLength(1);
  }, 90_000);
});

describe('no service dies unnoticed', () => {
  it("a node's relay killed: another node alerts that the node's alerting is gone, and that it is back", async () => {
    const k = await settledWithRelays();
    const from = lastSeq(k, 'n2');
    await k.signal('n1', ['relay'], 'SIGKILL');
    const gone = await waitFor('relay_gone from n2', () => alerts(k, 'n2').find((a) => a.seq > from && a.kind === 'relay_gone'), 10_000);
    expect(gone).toMatchObject({ severity: 'critical', details: { node: 'n1' } });
    expect(gone.summary).toMatch(/^the relay of n1 is gone/);
    k.start('n1', ['relay']);
    await waitFor('relay_back from n2', () => alerts(k, 'n2').find((a) => a.seq > from && a.kind === 'relay_back'), 10_000);
  }, 60_000);
});

describe('alerts that do not cry wolf', () => {
  it('10 routine handovers (a stop, then preemption back) raise no critical alert', async () => {
    const k = await settledWithRelays();
    for (let round = 0; round < 5; round++) {
      await k.signal('n1', ['vrrp'], 'SIGTERM');
      await k.settled('n2');
      k.start('n1', ['vrrp']);
      await k.settled('n1'); // preempts back: n1 is refused the lease until n2 lets go
    }
    await new Promise((r) => setTimeout(r, 3500)); // past alerts.lease_denied_ms
    const critical = [...alerts(k, 'n1'), ...alerts(k, 'n2')].filter((a) => a.severity === 'critical');
    expect(critical.map((a) => a.summary)).toEqual([]);
    const denied = k.events('n1', ['fence.lease_denied']);
    expect(denied.length, 'the preempting node was refused the lease while the old holder let go').toBeGreaterThan(0);
    const failoversNow = () => [...alerts(k, 'n1'), ...alerts(k, 'n2')].filter((a) => a.kind === 'failover');
    const bounds = () => ['n1', 'n2'].flatMap((n) => k.events(n, ['vip.bound']).map((e) => `${n} seq ${e.seq} epoch ${(e.data as { epoch: number }).epoch}:${JSON.stringify((e.data as { previous?: unknown }).previous ?? null)}`));
    // Where an alert is missing, what each relay did and said (its cursor, its service log's warnings).
    const relays = () => ['n1', 'n2'].map((n) => `${n}'s relay ${k.running(n, 'relay') ? 'running' : 'not running'}, warnings: ${serviceWarnings(k, n, 'relay')}`);
    const failovers = await waitFor('a failover alert for each of the 10 handovers', () => (failoversNow().length >= 10 ? failoversNow() : undefined), 10_000)
      .catch((err: Error) => {
        throw new Error(`${err.message}: ${failoversNow().length} alerts (${failoversNow().map((a) => `${a.id} seq ${a.seq}`).join(', ')}); binds and the tenure each found: ${bounds().join(' | ')}; ${relays().join('; ')}`);
      });
    expect(failovers).toHaveLength(10);
    expect(new Set(failovers.map((a) => a.severity))).toEqual(new Set(['info']));
  }, 180_000);
});
