// zookeeper.failsafe: the whole ensemble down, the holder keeps its VIP on its peers'
// promises; a peer that stops promising makes it release as without failsafe; ZooKeeper
// back, the lease is taken again without a flap. Three directors (vrrp + fence + relay),
// real ZooKeeper; who holds the VIP and who answers are the observers' (samplers on every
// node's interfaces, a client on the switch), never vigil's own view. Failsafe off
// (ensemble down: the VIP released) is the fence fault suite's "whole ensemble stopped".
import { describe, expect, it } from 'vitest';
import { isEvent, type EventData } from '../../shared/eventlog/index.js';
import { longestOutage } from '../../lab/observers.js';
import { clusterPerTest, now, sleep, startSettledCluster, timeline, type FencedCluster } from '../harness/fenced.js';
import { expectSafe } from '../harness/fence-faults.js';
import { waitFor } from '../harness/process.js';
import { waitForQuorum } from '../harness/zookeeper.js';

const SESSION_S = 1.5;
/** The client starts an attempt every 5 ms, each waiting up to 40 ms (lab/observers.ts): a miss or two on a busy machine is not an outage. */
const PROBE_MS = 100;
/** How long the ensemble stays down: several session timeouts. */
const DOWN_MS = 6000;

const track = clusterPerTest();

async function cluster(): Promise<FencedCluster> {
  return track(await startSettledCluster({ nodes: ['n1', 'n2', 'n3'], sessionTimeout: SESSION_S, advertInt: 0.1, failsafe: true }, ['fence', 'vrrp', 'relay']));
}

/** The fence.failsafe records of a node since a time, in this state. */
const failsafe = (k: FencedCluster, node: string, since: number, state: 'holding' | 'ended' | 'released'): { data: EventData<'fence.failsafe'> }[] =>
  k.events(node, ['fence.failsafe']).flatMap((e) => (e.ts >= since && isEvent(e, 'fence.failsafe') && e.data.state === state ? [{ data: e.data }] : []));

async function ensembleBack(k: FencedCluster): Promise<void> {
  await k.zk.servers[0]!.start();
  await waitForQuorum(k.zk);
}

describe('zookeeper.failsafe', () => {
  it('the whole ensemble stopped: the holder keeps the VIP (no client outage), every other node promised; ZooKeeper back: the lease is taken again without unbinding; never on two nodes', async () => {
    const k = await cluster();
    const from = now();
    await k.zk.servers[0]!.stop();
    const stoppedAt = now();
    const holding = await waitFor('n1 to keep its VIP under failsafe', () => failsafe(k, 'n1', from, 'holding')[0], 10_000);
    expect(holding.data).toMatchObject({ group: 'web', peers: ['n2', 'n3'] });
    const lost = k.events('n1', ['fence.zk_state']).find((e) => e.ts >= from && isEvent(e, 'fence.zk_state') && e.data.state === 'lost');
    expect(lost?.data, 'recorded as lost, with the VIPs kept under failsafe (its VRRP stays MASTER)').toMatchObject({ failsafe: true });
    await sleep(Math.max(0, stoppedAt + DOWN_MS - now()));
    const outage = longestOutage(k.answers(), from);
    expect(outage, `longest time without an answer while ZooKeeper was down (ms): ${timeline(k, from)}`).toBeLessThan(PROBE_MS);
    expect(k.presence().filter((p) => p.to >= from).map((p) => p.node), 'holders while ZooKeeper was down').toEqual(['n1']);
    for (const n of ['n2', 'n3']) {
      const last = k.events(n, ['vrrp.state_changed']).at(-1);
      expect((last?.data as { to?: string }).to, `${n}'s VRRP without ZooKeeper`).toBe('FAULT');
    }
    // the relay says the cluster runs without its coordinator
    const alert = k.events('n1', ['relay.alert']).find((e) => e.ts >= from && (e.data as { kind?: string }).kind === 'failsafe_holding');
    expect((alert?.data as { summary?: string } | undefined)?.summary).toMatch(/the cluster runs without its coordinator: n1 lost ZooKeeper and keeps VIP group web under failsafe/);

    const backFrom = now();
    await ensembleBack(k);
    const ended = await waitFor('n1 to take the lease again', () => failsafe(k, 'n1', backFrom, 'ended')[0], 20_000);
    expect(ended.data.without_coordinator_ms).toBeGreaterThan(DOWN_MS - 2 * SESSION_S * 1000);
    const acquired = k.events('n1', ['fence.lease_acquired']).filter((e) => e.ts >= backFrom);
    expect(acquired, 'a new lease').toHaveLength(1);
    await k.settled('n1', 20_000);
    await sleep(2000);
    expect(k.presence().filter((p) => p.to >= from), `n1 held the VIP throughout, once: ${timeline(k, from)}`).toHaveLength(1);
    expect(k.events('n1', ['vip.unbound']).filter((e) => e.ts >= from), 'never unbound').toEqual([]);
    expect(longestOutage(k.answers(), from), `longest time without an answer, through the whole test (ms): ${timeline(k, from)}`).toBeLessThan(PROBE_MS);
    expect(k.deaths()).toEqual([]);
    expectSafe(k);
  }, 120_000);

  it('the whole ensemble paused (SIGSTOP: silence, no connection reset): the holder keeps the VIP, no client outage; resumed: the lease taken again; never on two nodes', async () => {
    const k = await cluster();
    const from = now();
    const pid = k.zk.servers[0]!.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor('n1 to keep its VIP under failsafe', () => failsafe(k, 'n1', from, 'holding')[0], 10_000);
      await sleep(Math.max(0, from + DOWN_MS - now()));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const backFrom = now();
    await waitFor('n1 to take the lease again', () => failsafe(k, 'n1', backFrom, 'ended')[0], 20_000);
    await k.settled('n1', 20_000);
    expect(longestOutage(k.answers(), from), `longest time without an answer (ms): ${timeline(k, from)}`).toBeLessThan(PROBE_MS);
    expect(k.presence().filter((p) => p.to >= from), 'n1 held the VIP throughout, once').toHaveLength(1);
    expectSafe(k);
  }, 120_000);

  it('the ensemble stopped, then a peer cut off from the holder: it stops promising and the holder releases as without failsafe; both back: the VIP returns', async () => {
    const k = await cluster();
    const from = now();
    await k.zk.servers[0]!.stop();
    await waitFor('n1 to keep its VIP under failsafe', () => failsafe(k, 'n1', from, 'holding')[0], 10_000);
    const [a, b] = [k.t.hosts.n1!.address, k.t.hosts.n3!.address];
    const heals = [
      await k.firewall('n3', { input: [`ip saddr ${a} drop`], output: [`ip daddr ${a} drop`] }),
      await k.firewall('n1', { input: [`ip saddr ${b} drop`], output: [`ip daddr ${b} drop`] }),
    ];
    const cutAt = now();
    const released = await waitFor('n1 to release its VIP', () => failsafe(k, 'n1', from, 'released')[0], 10_000);
    expect(released.data.detail).toMatch(/failsafe ended: not every other node promised \(n3\)/);
    // released within the last promise (a session timeout), by the kernel fence's deadline
    const gone = await waitFor('the VIP off every node', () => (k.holders().length === 0 ? now() : undefined), 10_000, 10);
    expect(gone - cutAt, `the VIP gone after the cut (ms): ${timeline(k, cutAt)}`).toBeLessThan(SESSION_S * 1000 + 1000);
    await sleep(1000);
    expect(k.holders(), 'nobody holds it without ZooKeeper once a peer stops promising').toEqual([]);
    for (const h of heals) await h();
    await ensembleBack(k);
    await k.settled(undefined, 30_000);
    expectSafe(k);
  }, 120_000);

  it('a peer cut off from the holder before the ensemble stops: the holder keeps nothing past its lease (no failsafe), as without it', async () => {
    const k = await cluster();
    const [a, b] = [k.t.hosts.n1!.address, k.t.hosts.n2!.address];
    // only the peer channel: VRRP and ZooKeeper still pass
    const heals = [
      await k.firewall('n2', { input: [`ip saddr ${a} udp dport 5407 drop`] }),
      await k.firewall('n1', { input: [`ip saddr ${b} udp dport 5407 drop`] }),
    ];
    // A promise n2 gave before the cut (a moment of ZooKeeper silence on a busy machine) lasts a session timeout: let it run out.
    await sleep(SESSION_S * 1000 + 200);
    const from = now();
    await k.zk.servers[0]!.stop();
    const unbound = await waitFor('n1 to unbind', () => k.events('n1', ['vip.unbound']).find((e) => e.ts >= from), 10_000);
    expect((unbound.data as { reason?: string }).reason).toMatch(/ZooKeeper session lost/);
    expect(failsafe(k, 'n1', from, 'holding'), 'no failsafe without n2\'s promise').toEqual([]);
    expect(k.holders()).toEqual([]);
    for (const h of heals) await h();
    await ensembleBack(k);
    await k.settled(undefined, 30_000);
    expectSafe(k);
  }, 120_000);
});
