// A holder cut off from the other directors (and its clients) but not from ZooKeeper gives
// way to the side most directors are on; a split that leaves the holder with a majority
// moves nothing. Three directors (vrrp + fence), real ZooKeeper, nftables cuts in their
// namespaces; who holds the VIP and who answers are the observers' (samplers on every
// node's interfaces, a client on the switch), never vigil's own view.
import { describe, expect, it } from 'vitest';
import { isEvent } from '../../shared/eventlog/index.js';
import { clusterPerTest, now, sleep, startSettledCluster, timeline, type FencedCluster } from '../harness/fenced.js';
import { waitFor } from '../harness/process.js';
import { expectSafe } from '../harness/fence-faults.js';

const ADVERT_MS = 100;
const PRIORITIES = { n1: 150, n2: 100, n3: 50 };
/** The slowest backup's master-down interval (RFC 5798: 3 intervals + skew at its priority). */
const MASTER_DOWN_MS = 3 * ADVERT_MS + ((256 - PRIORITIES.n3) * ADVERT_MS) / 256;
/**
 * One lease hand-over, on two busy cores: the holder's fence reads the others' hearing in
 * ZooKeeper, unbinds and leaves the lock; the next one's fence sees the lock change and binds.
 */
const HANDOVER_MS = 1000;
/** How long each cut lasts after the VIP settles: any flapping would show in it. */
const HOLD_MS = 5000;

const track = clusterPerTest();

async function cluster(): Promise<FencedCluster> {
  const c = track(await startSettledCluster({ nodes: ['n1', 'n2', 'n3'], priorities: PRIORITIES, sessionTimeout: 1.5, advertInt: ADVERT_MS / 1000 }));
  // Each backup hears n1 (recorded as vrrp.hearing, published by its fence) before any cut.
  for (const n of ['n2', 'n3']) {
    await waitFor(`${n} to record that it hears n1`, () => c.events(n, ['vrrp.hearing']).find((e) => isEvent(e, 'vrrp.hearing') && e.data.hears.includes(c.t.hosts.n1!.address)), 10_000);
  }
  return c;
}

/** Cuts a node from every host but ZooKeeper (peers, client), both ways; returns the heal. */
function isolate(k: FencedCluster, node: string): Promise<() => Promise<void>> {
  const zk = k.t.hosts.zk!.address;
  return k.firewall(node, { input: ['iif "lo" accept', `ip saddr ${zk} accept`, 'drop'], output: ['oif "lo" accept', `ip daddr ${zk} accept`, 'drop'] });
}

/** Cuts node a from node b, both ways (rules in both namespaces); returns the heal. */
async function cut(k: FencedCluster, a: string, b: string): Promise<() => Promise<void>> {
  const [x, y] = [k.t.hosts[a]!.address, k.t.hosts[b]!.address];
  const heals = [
    await k.firewall(a, { input: [`ip saddr ${y} drop`], output: [`ip daddr ${y} drop`] }),
    await k.firewall(b, { input: [`ip saddr ${x} drop`], output: [`ip daddr ${x} drop`] }),
  ];
  return async () => {
    for (const h of heals) await h();
  };
}

/** The observers' holders since `from`, in order (consecutive repeats merged). */
function moves(k: FencedCluster, from: number): string[] {
  return k.presence().filter((p) => p.to >= from).map((p) => p.node).filter((n, i, all) => i === 0 || all[i - 1] !== n);
}

describe('a holder cut off from the other directors, ZooKeeper reachable', () => {
  it('gives way: the VIP moves to the majority side within the master-down interval and one hand-over, stays there while the cut lasts, and comes back to n1 (preempt) after the heal; never on two nodes', async () => {
    const k = await cluster();
    const from = now();
    const heal = await isolate(k, 'n1');
    const cutAt = now();
    const at = await waitFor('n2 to hold the VIP', () => k.presence().find((p) => p.node === 'n2' && p.from >= cutAt)?.from, 20_000, 10);
    expect(at - cutAt, `the VIP on n2 after the cut (ms); bound ${MASTER_DOWN_MS} + ${HANDOVER_MS}; what happened: ${timeline(k, cutAt)}`).toBeLessThan(MASTER_DOWN_MS + HANDOVER_MS);
    // recorded by the holder that gave way, with why: to the director waiting in the lock
    // then: n2, or on a busy machine n3, whose master-down timer fired first (n2, of higher
    // priority, then preempts it: the VIP is on n2 within the bound, as checked above and below)
    const gave = k.events('n1', ['fence.gave_way']).filter((e) => e.ts >= cutAt);
    expect(gave.map((e) => e.data)).toEqual([expect.objectContaining({ group: 'web', to: expect.stringMatching(/^n[23]$/), heard_by: ['n2', 'n3'], directors: 3 })]);
    const unbound = k.events('n1', ['vip.unbound']).find((e) => e.ts >= cutAt);
    expect((unbound?.data as { reason?: string } | undefined)?.reason).toMatch(/n2, n3 \(2 of 3 directors\) hear n[23]'s VRRP adverts and not this node's/);
    // the client, cut from n1, is answered by n2
    await waitFor('the client answered by n2', () => k.answers().find((a) => a.t >= at && a.answer === 'n2'), 10_000, 10);
    const settledAt = now();
    await sleep(HOLD_MS);
    expect(moves(k, settledAt), `holders while the cut lasts: ${timeline(k, settledAt)}`).toEqual(['n2']);
    expect(k.events('n2', ['fence.gave_way']).concat(k.events('n3', ['fence.gave_way'])), 'nobody else gave way').toEqual([]);
    // (taken before: the hand-back can be over before the nft process that heals has been reaped)
    const healedAt = now();
    await heal();
    // n1 (priority 150, preempting) is heard again: n2 goes BACKUP and lets go, n1 binds
    await k.settled('n1', 20_000);
    await sleep(2000);
    expect(moves(k, healedAt), `holders after the heal: ${timeline(k, healedAt)}`).toEqual(['n2', 'n1']);
    expect(moves(k, from), 'holders through the whole test').toEqual(['n1', 'n2', 'n1']);
    expectSafe(k);
  }, 120_000);

  it('a symmetric split of one and two with the holder on the side of two: the VIP never moves; the lone director is denied the lease', async () => {
    const k = await cluster();
    const from = now();
    const heals = [await cut(k, 'n3', 'n1'), await cut(k, 'n3', 'n2')];
    await waitFor('n3 to be denied the lease', () => k.events('n3', ['fence.lease_denied']).find((e) => e.ts >= from), 20_000);
    await sleep(HOLD_MS);
    for (const n of k.nodes) expect(k.events(n, ['fence.gave_way']), `${n} gave way`).toEqual([]);
    expect(moves(k, from), `holders during the split: ${timeline(k, from)}`).toEqual(['n1']);
    expect(k.presence().filter((p) => p.to >= from)).toHaveLength(1);
    for (const h of heals) await h();
    await waitFor('n3 to leave the lock after the heal', () => k.events('n3', ['fence.lease_candidate']).find((e) => e.ts >= from && isEvent(e, 'fence.lease_candidate') && e.data.action === 'left'), 20_000);
    expect(moves(k, from)).toEqual(['n1']);
    expectSafe(k);
  }, 120_000);

  it('a symmetric split of one and two with the holder alone: it gives way once, and the split never leaves the VIP unowned longer than the master-down interval and one hand-over', async () => {
    const k = await cluster();
    const heals = [await cut(k, 'n1', 'n2'), await cut(k, 'n1', 'n3')];
    const cutAt = now();
    await waitFor('n2 to hold the VIP', () => k.presence().find((p) => p.node === 'n2' && p.from >= cutAt), 20_000, 10);
    await sleep(HOLD_MS);
    const n1End = k.presence().find((p) => p.node === 'n1' && p.to >= cutAt)!.to;
    const n2Start = k.presence().find((p) => p.node === 'n2' && p.from >= cutAt)!.from;
    expect(n2Start - n1End, `the VIP unowned (ms): ${timeline(k, cutAt)}`).toBeLessThan(MASTER_DOWN_MS + HANDOVER_MS);
    expect(moves(k, cutAt), `holders during the split: ${timeline(k, cutAt)}`).toEqual(['n1', 'n2']);
    expect(k.events('n1', ['fence.gave_way'])).toHaveLength(1);
    for (const h of heals) await h();
    await k.settled('n1', 20_000);
    expectSafe(k);
  }, 120_000);
});
