// The fence's decisions without I/O: given the facts about a VIP group, the next step.
import { describe, expect, it } from 'vitest';
import { MIN_LEASE_LEFT_MS, mayRenew, nextStep, type GroupFacts } from '../../services/fence/decider.js';
import { parseCandidate, zkPaths } from '../../shared/zookeeper/layout.js';
import { addressLines, planGroups } from '../../services/fence/plan.js';
import { parseConfig } from '../../shared/config/index.js';
import { parseAddressMonitorLine } from '../../shared/iproute.js';

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

  it('parses `ip -o monitor address` lines (as iproute2 6.1 prints them)', () => {
    expect(parseAddressMonitorLine('3: vgea    inet 10.9.0.100/32 scope global dynamic vgea:web\\       valid_lft 1sec preferred_lft 1sec', 5)).toEqual({ change: 'added', ifname: 'vgea', address: '10.9.0.100', prefix: 32, at: 5 });
    expect(parseAddressMonitorLine('Deleted 3: vgea    inet 10.9.0.101/32 scope global dynamic vgea\\       valid_lft 0sec preferred_lft 0sec', 5)).toEqual({ change: 'removed', ifname: 'vgea', address: '10.9.0.101', prefix: 32, at: 5 });
    // with -ts: when the monitor read the kernel's notification, in local time
    expect(parseAddressMonitorLine('[2026-11-29T09:23:33.222211] 3: vga    inet 10.99.0.1/32 scope global dynamic vga\\       valid_lft 5sec preferred_lft 5sec')).toEqual({
      change: 'added', ifname: 'vga', address: '10.99.0.1', prefix: 32, at: new Date(2026, 10, 29, 9, 23, 33, 222).getTime(),
    });
    expect(parseAddressMonitorLine('3: vgea    inet6 fe80::6c98:d7ff:fe40:afa4/64 scope link \\       valid_lft forever preferred_lft forever')).toBeUndefined();
    expect(parseAddressMonitorLine('garbage')).toBeUndefined();
  });
});
