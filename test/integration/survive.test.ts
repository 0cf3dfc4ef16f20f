// Faults a cluster must outlive without losing its VIP for longer than the documented bound
// and without a service dying: ZooKeeper paused or restarted, SIGHUP, a full disk under the
// log. Two fenced nodes (vrrp, fence and relay each) with real ZooKeeper in namespaces; the
// VIP as an independent observer samples it on every node's interfaces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog, type StoredEvent } from '../../shared/eventlog/index.js';
import { clusterPerTest, now, sleep, startSettledCluster, timeline, type FencedCluster, type FencedClusterOptions, type ServiceName } from '../harness/fenced.js';
import { CLI } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import { waitForQuorum } from '../harness/zookeeper.js';

const SESSION_S = 1.5;
/** After ZooKeeper serves again, the VIP answers from one node within this (README: session timeout + 1 s). */
const BOUND_MS = SESSION_S * 1000 + 1000;
const ALL: ServiceName[] = ['fence', 'vrrp', 'relay'];

const track = clusterPerTest();

async function cluster(o: FencedClusterOptions = {}): Promise<FencedCluster> {
  return track(await startSettledCluster({ sessionTimeout: SESSION_S, ...o }, ALL));
}

function expectAllAlive(k: FencedCluster): void {
  expect(k.deaths(), 'service processes that died').toEqual([]);
  for (const n of k.nodes) for (const s of ALL) expect(k.running(n, s), `${n}/${s} running`).toBe(true);
}

function expectSafe(k: FencedCluster): void {
  expect(k.overlaps(), 'two nodes held the VIP at once').toEqual([]);
  expect(k.transitionUncertaintyMs(), 'observer sampling gap around a VIP change (ms)').toBeLessThan(100);
}

/** The VIP answers from one node, at most BOUND_MS after `serving` (its first answer since `since`: it may precede `serving`). */
async function backWithin(k: FencedCluster, serving: number, since = serving): Promise<void> {
  await k.settled(undefined, 30_000);
  // The client reports its attempts in the order they began, each once it ended: an attempt
  // left unanswered ends at its timeout, so its report can come after the samplers already
  // see the VIP back (settled). The first answer since `since` is waited for.
  const first = await waitFor(`an answer after ZooKeeper serves again; what happened, in ms after it served: ${timeline(k, serving)}`, () => k.answers().find((a) => a.t >= since && a.answer !== null), 10_000, 10);
  expect(first.t - serving, `VIP answering again after ZooKeeper serves (ms); what happened, in ms after it served: ${timeline(k, serving)}`).toBeLessThan(BOUND_MS);
}

describe('ZooKeeper stalls and restarts', () => {
  it('paused (SIGSTOP) for 2, 4 and 10 s, 3 rounds each: no process dies, the VIP comes back within the bound, never on two nodes', async () => {
    const k = await cluster();
    for (const pauseS of [2, 4, 10]) {
      for (let round = 0; round < 3; round++) {
        const pid = k.zk.servers[0]!.pid!;
        process.kill(pid, 'SIGSTOP');
        try {
          await sleep(pauseS * 1000);
        } finally {
          process.kill(pid, 'SIGCONT');
        }
        await backWithin(k, now());
        expectAllAlive(k);
      }
    }
    expectSafe(k);
    // Each lost session's unbind finds the address gone already (its kernel lifetime ran out
    // first): that is the expected course, not an error, and the log says how it went.
    const fenceLog = readFileSync(join(k.dir, 'n1-fence.log'), 'utf8').split('\n');
    expect(fenceLog.filter((l) => l.includes('cannot remove addresses')), 'errors for addresses already gone').toEqual([]);
  }, 300_000);

  it('restarted (SIGTERM, started again), 3 rounds: no process dies, the VIP comes back within the bound, never on two nodes', async () => {
    const k = await cluster();
    for (let round = 0; round < 3; round++) {
      const zk = k.zk.servers[0]!;
      await zk.stop();
      const stoppedAt = now();
      await sleep(1000);
      await zk.start();
      // start() returns once the JVM is spawned; it serves seconds later on a busy machine. The
      // probe sees it serve a little late, so the VIP may be back before `serving`.
      await waitForQuorum(k.zk);
      await backWithin(k, now(), stoppedAt);
      expectAllAlive(k);
    }
    expectSafe(k);
  }, 180_000);
});

describe('signals', () => {
  it('SIGHUP (reload of the same file) to every service of both nodes, 3 times: all alive, recorded, and the VIP never moves', async () => {
    const k = await cluster();
    const from = now();
    for (let round = 0; round < 3; round++) {
      for (const n of k.nodes) for (const s of ALL) process.kill(k.pid(n, s)!, 'SIGHUP');
      await sleep(500);
    }
    await sleep(1000);
    expectAllAlive(k);
    for (const n of k.nodes) {
      // each SIGHUP is a reload of the same file: recorded, nothing to change
      const hups = k.events(n, ['service.reloaded']);
      expect(hups.map((e) => e.subject).sort(), `${n}: every service recorded each SIGHUP`).toEqual(ALL.flatMap((s) => [`service:${s}`, `service:${s}`, `service:${s}`]).sort());
      for (const e of hups) expect(e.data, `${n} ${e.subject}`).toMatchObject({ added: [], removed: [], changed: [], restart_needed: [] });
    }
    // the VIP never left n1: one presence since before the signals, still open, and every answer from n1
    const n1 = k.presence().filter((p) => p.node === 'n1' && p.to >= from);
    expect(n1).toHaveLength(1);
    expect(n1[0]!.to).toBe(Infinity);
    expect(k.presence().filter((p) => p.node !== 'n1')).toEqual([]);
    // the client prints changes of answer: nobody but n1 answered since (a null is an attempt
    // that timed out on a loaded machine, with n1 holding the VIP all along, as seen above)
    expect(k.answers().filter((a) => a.t >= from && a.answer !== null && a.answer !== 'n1')).toEqual([]);
    expect(k.answers().at(-1)?.answer).toBe('n1');
  }, 90_000);
});

const late = (e: StoredEvent) => (e.data as { _late?: { ts: number; error: string } })._late;

describe('a full disk under the log', () => {
  it('the holder fails over while its log cannot be written; afterwards its log holds every event of the failover, in order, marked late', async () => {
    const k = await cluster({ smallDisks: ['n1'] });
    const before = k.events('n1', []).at(-1)!.seq;
    k.disk('n1').fill();
    // Space the WAL already has can still take commits: write until SQLite says the disk is
    // full, in batches of 50 notes first (a busy machine takes minutes one by one), then one by one.
    const log = EventLog.open({ path: k.logPath('n1'), node: 'n1', busyTimeoutMs: 2000 });
    const note = (i: number) => ({ type: 'operator.note' as const, source: 'cli' as const, subject: 'operator:test', data: { text: `filling ${i} ${'x'.repeat(3000)}`, author: 'test' } });
    try {
      for (const size of [50, 1]) {
        for (let i = 0; ; i++) {
          try {
            log.appendBatch(Array.from({ length: size }, (_, j) => note(i * size + j)));
          } catch (err) {
            expect((err as Error).message).toMatch(/full/i);
            break;
          }
          if (i * size > 10_000) throw new Error('the log never refused a write on a full disk');
        }
      }
    } finally {
      log.close();
    }
    const fullAt = now();
    // Heartbeats cannot be written: n1's vrrp no longer sees its fence and gives way.
    await k.settled('n2', 20_000);

    // While the disk stays full: a service stops cleanly (exit 75: events not recorded, printed instead)...
    const [relayEnd] = await k.signal('n1', ['relay'], 'SIGTERM');
    expect(relayEnd).toEqual({ code: 75, signal: null });
    // ...and refuses to start, in one line.
    const refused = await k.t.exec('n1', [process.execPath, CLI, 'run', 'relay', '--config', k.configFile, '--node', 'n1'], { allowFail: true });
    expect(refused.code).toBe(75);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/vigil run relay: cannot write the event log .*events\.db: .*full.*free space/);

    k.disk('n1').free();
    const freedAt = now();
    const recovered = await waitFor('n1 to append what it kept', () => {
      const r = k.events('n1', ['service.log_recovered']);
      return r.length >= 2 ? r : undefined; // vrrp and fence
    }, 20_000);
    expect(recovered.map((e) => e.subject).sort()).toEqual(['service:fence', 'service:vrrp']);

    const after = k.events('n1', []).filter((e) => e.seq > before && e.type !== 'operator.note');
    const lateOnes = after.filter((e) => late(e) !== undefined);
    const failover = (source: string) => lateOnes.filter((e) => e.source === source).map((e) => `${e.type}${e.type === 'vrrp.state_changed' ? `:${(e.data as { to: string }).to}` : e.type === 'fence.lease_candidate' ? `:${(e.data as { action: string }).action}` : ''}`);
    expect(failover('vrrp')).toContain('vrrp.state_changed:FAULT');
    const fence = failover('fence');
    // (n1 may try again while the disk is full, and be refused the lease: more events after these)
    expect(fence.filter((t) => t === 'vip.unbound' || t === 'fence.lease_candidate:left' || t === 'fence.lease_lost').slice(0, 3)).toEqual(['vip.unbound', 'fence.lease_candidate:left', 'fence.lease_lost']);
    const flushedAt = Math.max(...recovered.map((e) => e.ts));
    expect(flushedAt).toBeGreaterThanOrEqual(Math.floor(freedAt));
    for (const e of lateOnes) {
      const l = late(e)!;
      // from the disk filling up until the kept events could be appended (those that came
      // meanwhile queue behind them, in order, and are late too)
      expect(l.ts, `${e.type} happened while the log refused writes`).toBeGreaterThanOrEqual(Math.floor(fullAt) - 1000);
      expect(l.ts).toBeLessThanOrEqual(flushedAt);
      expect(l.error).toMatch(/full/i);
    }
    // In order: each service's late events keep the order in which they happened.
    for (const source of ['vrrp', 'fence']) {
      const times = lateOnes.filter((e) => e.source === source).map((e) => late(e)!.ts);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    expect(k.deaths()).toEqual([]);
    expectSafe(k);
  }, 120_000);
});
