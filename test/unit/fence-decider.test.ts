// The fence's decisions without I/O: given the facts about a VIP group, the next step.
import { describe, expect, it } from 'vitest';
import { fenceHeartbeatMs, MIN_LEASE_LEFT_MS, MIN_SESSION_TIMEOUT_MS, mayRenew, nextStep, successorOf, type GroupFacts } from '../../services/fence/decider.js';
import { livenessTiming } from '../../shared/zookeeper/liveness.js';
import { zkPaths } from '../../shared/zookeeper/layout.js';
import { lockView, parseCandidate, previousTenure, type Candidate } from '../../shared/zookeeper/lease.js';
import { judgeAddressChange } from '../../services/fence/repair.js';
import { addressLines, planGroups } from '../../services/fence/plan.js';
import { parseConfig } from '../../shared/config/index.js';

const base: GroupFacts = { master: true, session: 'connected', leaseLeftMs: 1300, candidate: undefined, lowest: undefined, bound: undefined };
const given = (f: Partial<GroupFacts>): GroupFacts => ({ ...base, ...f });
const ours = { epoch: 7, node: 'lb1', ours: true };
const theirs = { epoch: 5, node: 'lb2', ours: false };

describe('fence decider: the next step', () => {
  it('a MASTER with a session and no candidate joins the lock', () => {
    expect(nextStep(given({}))).toEqual({ kind: 'join' });
  });
  it('never joins without a connected session (suspended or lost)', () => {
    expect(nextStep(given({ session: 'suspended' })).kind).toBe('wait');
    expect(nextStep(given({ session: 'lost' })).kind).toBe('wait');
  });
  it('a BACKUP does nothing', () => {
    expect(nextStep(given({ master: false }))).toMatchObject({ kind: 'wait', why: 'not MASTER' });
  });
  it('waits for the lock to be read before deciding anything', () => {
    expect(nextStep(given({ candidate: { epoch: 7 } }))).toMatchObject({ kind: 'wait', why: 'lock not read yet' });
  });
  it('binds only when its candidate is the lowest, with the candidate\'s epoch', () => {
    expect(nextStep(given({ candidate: { epoch: 7 }, lowest: ours }))).toEqual({ kind: 'bind', epoch: 7 });
  });
  it('is denied (waits, naming the holder) while another candidate is lower: a split brain averted', () => {
    expect(nextStep(given({ candidate: { epoch: 7 }, lowest: theirs }))).toEqual({ kind: 'wait', why: 'lease held by lb2 (epoch 5)', holder: theirs });
  });
  it('never binds with less lease time left than an address lifetime', () => {
    const s = nextStep(given({ candidate: { epoch: 7 }, lowest: ours, leaseLeftMs: MIN_LEASE_LEFT_MS - 1 }));
    expect(s.kind).toBe('wait');
    expect(nextStep(given({ candidate: { epoch: 7 }, lowest: ours, leaseLeftMs: MIN_LEASE_LEFT_MS })).kind).toBe('bind');
  });
  it('never binds while suspended, even as the lowest candidate', () => {
    expect(nextStep(given({ session: 'suspended', candidate: { epoch: 7 }, lowest: ours })).kind).toBe('wait');
  });
  it('keeps the VIP while suspended (the deadline has not passed)', () => {
    expect(nextStep(given({ session: 'suspended', candidate: { epoch: 7 }, lowest: ours, bound: { epoch: 7 } }))).toMatchObject({ kind: 'wait' });
  });
  it('unbinds when the session is lost, before anything else', () => {
    expect(nextStep(given({ session: 'lost', master: false, candidate: { epoch: 7 }, lowest: ours, bound: { epoch: 7 } }))).toMatchObject({ kind: 'unbind', reason: expect.stringContaining('session lost') });
  });
  it('unbinds first, then leaves, when VRRP is no longer MASTER', () => {
    const bound = given({ master: false, candidate: { epoch: 7 }, lowest: ours, bound: { epoch: 7 } });
    expect(nextStep(bound).kind).toBe('unbind');
    expect(nextStep({ ...bound, bound: undefined }).kind).toBe('leave');
    expect(nextStep({ ...bound, bound: undefined, candidate: undefined, lowest: undefined }).kind).toBe('wait');
  });
  it('unbinds when its candidate vanished (deleted by hand) or belongs to another epoch, then joins again', () => {
    expect(nextStep(given({ candidate: undefined, bound: { epoch: 7 } })).kind).toBe('unbind');
    expect(nextStep(given({ candidate: { epoch: 9 }, lowest: { ...ours, epoch: 9 }, bound: { epoch: 7 } })).kind).toBe('unbind');
    expect(nextStep(given({})).kind).toBe('join');
  });
  it('renews lifetimes only with enough lease left', () => {
    expect(mayRenew(MIN_LEASE_LEFT_MS)).toBe(true);
    expect(mayRenew(MIN_LEASE_LEFT_MS - 1)).toBe(false);
  });
  it('heartbeats as rarely as the kernel fence allows: still renewed after one unanswered heartbeat', () => {
    expect(fenceHeartbeatMs(2000)).toBe(500); // the default session: 2 a second instead of 7.5
    expect(fenceHeartbeatMs(MIN_SESSION_TIMEOUT_MS)).toBe(125); // 0.4 s: lease deadline 300 ms after a heartbeat
    expect(fenceHeartbeatMs(60_000)).toBe(500);
    for (let session = MIN_SESSION_TIMEOUT_MS; session <= 60_000; session += 50) {
      const h = fenceHeartbeatMs(session);
      const t = livenessTiming(session, h);
      expect(h).toBeGreaterThanOrEqual(livenessTiming(session).heartbeatMs);
      // lease left when the heartbeat after a missed one is sent, as the renewal sees it
      if (h > livenessTiming(session).heartbeatMs) expect(mayRenew(session - t.marginMs - 2 * h), `session ${session}`).toBe(true);
      expect(t.suspendAfterMs).toBeGreaterThan(h); // one answer on its way is no suspension
    }
  });
});

describe('fence: the lease recipe\'s rules', () => {
  const c = (node: string, epoch: number): Candidate => ({ name: `c-${node}-${String(epoch).padStart(10, '0')}`, node, epoch });
  const lock = [c('lb2', 3), c('lb1', 5), c('lb1', 8), c('lb3', 9)];

  it('the lowest candidate holds the lease; ours when it is our candidate of this session', () => {
    expect(lockView(lock, 'lb3', c('lb3', 9).name, false).holder).toEqual({ node: 'lb2', epoch: 3, ours: false });
    expect(lockView([c('lb1', 8), c('lb3', 9)], 'lb1', c('lb1', 8).name, false).holder).toEqual({ node: 'lb1', epoch: 8, ours: true });
    expect(lockView([], 'lb1', undefined, false)).toEqual({ stale: [], mineGone: false, holder: undefined });
  });

  it('our candidates of earlier sessions are stale and do not count, so that the lease is not waited for in vain', () => {
    const v = lockView([c('lb1', 5), c('lb1', 8), c('lb3', 9)], 'lb1', c('lb1', 8).name, false);
    expect(v.stale.map((x) => x.epoch)).toEqual([5]);
    expect(v.holder).toEqual({ node: 'lb1', epoch: 8, ours: true });
    expect(lockView([c('lb1', 5), c('lb3', 9)], 'lb1', undefined, false).stale.map((x) => x.epoch)).toEqual([5]);
  });

  it('while bound, touches none of ours (the holder\'s own candidate is never taken for stale)', () => {
    const v = lockView(lock, 'lb1', c('lb1', 8).name, true);
    expect(v.stale).toEqual([]);
    expect(v.holder).toEqual({ node: 'lb2', epoch: 3, ours: false });
  });

  it('says when our candidate is gone (deleted by hand, or the session that made it ended)', () => {
    expect(lockView(lock, 'lb1', 'c-lb1-0000000004', false).mineGone).toBe(true);
    expect(lockView(lock, 'lb1', c('lb1', 8).name, false).mineGone).toBe(false);
    expect(lockView(lock, 'lb1', undefined, false).mineGone).toBe(false);
  });

  it('the last tenure: when its addresses went, and how; nothing when it is this very tenure', () => {
    expect(previousTenure({ node: 'lb2', epoch: 3, valid_until: 5_000, gone_at: 4_200 }, 8, 9_000)).toEqual({ node: 'lb2', epoch: 3, gone_at: 4_200, how: 'unbound' });
    expect(previousTenure({ node: 'lb2', epoch: 3, valid_until: 5_000 }, 8, 9_000)).toEqual({ node: 'lb2', epoch: 3, gone_at: 5_000, how: 'lifetime' });
    expect(previousTenure({ node: 'lb2', epoch: 3, valid_until: 12_000 }, 8, 9_000)?.gone_at).toBe(9_000);
    expect(previousTenure({ node: 'lb1', epoch: 8, valid_until: 5_000 }, 8, 9_000)).toBeUndefined();
    expect(previousTenure(undefined, 8, 9_000)).toBeUndefined();
  });
});

describe('fence: addresses changed by someone else', () => {
  const held = { expected: true, session: 'connected' as const, changing: false, bound: true, leaseLeftMs: 1300 };
  const free = { expected: false, session: 'connected' as const, changing: false, bound: false, leaseLeftMs: 0 };

  it('takes what it did itself for an echo', () => {
    expect(judgeAddressChange({ ...held, change: 'added' }).kind).toBe('echo');
    expect(judgeAddressChange({ ...free, change: 'removed' }).kind).toBe('echo');
  });

  it('removes an address this node holds no lease for, whatever the session', () => {
    expect(judgeAddressChange({ ...free, change: 'added' }).kind).toBe('remove');
    expect(judgeAddressChange({ ...free, session: 'lost', change: 'added' }).kind).toBe('remove');
  });

  it('adds back an address of a lease it holds, only with a session and no change of the lease under way', () => {
    expect(judgeAddressChange({ ...held, change: 'removed' })).toEqual({ kind: 'restore', detail: 'this node holds the lease: added back' });
    expect(judgeAddressChange({ ...held, changing: true, change: 'removed' })).toEqual({ kind: 'leave', detail: 'a change of the lease is in progress' });
    expect(judgeAddressChange({ ...held, bound: false, change: 'removed' }).kind).toBe('leave');
    for (const session of ['suspended', 'lost', 'expired', undefined] as const) {
      const v = judgeAddressChange({ ...held, session, change: 'removed' });
      expect(v.kind, String(session)).toBe('leave');
      expect(v.kind === 'leave' && v.detail).toMatch(/kernel lifetime ran out/);
    }
  });

  it('never adds one back once the lease deadline has passed, even while the session still says connected (a fence that was stopped sees its switch\'s removal first)', () => {
    expect(judgeAddressChange({ ...held, leaseLeftMs: 10, change: 'removed' })).toEqual({ kind: 'leave', detail: 'the lease deadline has passed (the fence did not renew it in time): not restored' });
    expect(judgeAddressChange({ ...held, leaseLeftMs: -500, change: 'removed' }).kind).toBe('leave');
  });
});

describe('fence: names, paths and commands', () => {
  it('reads candidates "c-<node>-<sequence>" and nothing else', () => {
    expect(parseCandidate('c-lb1-0000000042')).toEqual({ node: 'lb1', epoch: 42 });
    expect(parseCandidate('c-lb-2.a_b-0000000007')).toEqual({ node: 'lb-2.a_b', epoch: 7 });
    expect(parseCandidate('c-lb1-42')).toBeUndefined();
    expect(parseCandidate('owner')).toBeUndefined();
  });

  const config = parseConfig(`cluster: prod
nodes: { lb1: {}, lb2: {} }
zookeeper: { hosts: [zk:2181], root: /vigil }
vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 51, garp_master_delay: 2, garp_master_refresh: 60, nodes: { lb2: { interface: eth1 } } }
vip_groups:
  web: { instance: VI_1, addresses: [10.0.0.31/24, "10.0.0.32/32 dev eth9 label eth9:web"] }
`, 'test.yaml').config;

  it('plans each group with interfaces resolved per node and keepalived\'s GARP timing', () => {
    const [web] = planGroups(config, 'lb2');
    expect(web!.addresses).toEqual([
      { address: '10.0.0.31', prefix: 24, ifname: 'eth1', label: undefined },
      { address: '10.0.0.32', prefix: 32, ifname: 'eth9', label: 'eth9:web' },
    ]);
    expect(web!.garp).toEqual({ delayMs: 2000, repeat: 5, refreshMs: 60_000, refreshRepeat: 1 });
    expect(planGroups(config, 'lb1')[0]!.addresses[0]!.ifname).toBe('eth0');
  });

  it('lays out ZooKeeper as DESIGN.md says', () => {
    const p = zkPaths(config);
    expect(p.lock('web')).toBe('/vigil/prod/vips/web/lock');
    expect(p.owner('web')).toBe('/vigil/prod/vips/web/owner');
    expect(p.node('lb1')).toBe('/vigil/prod/nodes/lb1');
  });

  it('writes iproute2 batch lines with the kernel lifetime', () => {
    const [web] = planGroups(config, 'lb1');
    expect(addressLines('replace', web!.addresses, 1)).toEqual([
      'address replace 10.0.0.31/24 dev eth0 valid_lft 1 preferred_lft 1',
      'address replace 10.0.0.32/32 dev eth9 label eth9:web valid_lft 1 preferred_lft 1',
    ]);
    expect(addressLines('del', web!.addresses, 1)[0]).toBe('address del 10.0.0.31/24 dev eth0');
  });
});

describe('fence: the successor of a lease holder that left', () => {
  const c = (node: string, priority: number, address?: string) => ({ node, priority, address });
  it('is the live node with the highest priority, never the one leaving; ties by address as VRRP, then name', () => {
    const all = [c('n1', 150, '10.0.0.1'), c('n2', 100, '10.0.0.2'), c('n3', 120, '10.0.0.3')];
    expect(successorOf(all, new Set(['n1', 'n2', 'n3']), 'n1')).toBe('n3');
    expect(successorOf(all, new Set(['n1', 'n2']), 'n1')).toBe('n2'); // n3's fence has no session
    expect(successorOf(all, new Set(['n1']), 'n1')).toBeUndefined();
    expect(successorOf([c('a', 100, '10.0.0.9'), c('b', 100, '10.0.0.10')], new Set(['a', 'b']), 'x')).toBe('b'); // 10 > 9, not as strings
    expect(successorOf([c('a', 100), c('b', 100)], new Set(['a', 'b']), 'x')).toBe('b');
  });
});
