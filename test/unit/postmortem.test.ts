// The postmortem's model of a cluster's history, from scripted events of several nodes:
// tenures, moves and their why, windows without a holder, overlaps, clock skew.
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../shared/eventlog/index.js';
import { estimateClocks } from '../../shared/postmortem/clocks.js';
import { buildHistory, holderAt } from '../../shared/postmortem/history.js';
import { answerAt, buildReport } from '../../shared/postmortem/report.js';
import { answerText, reportText } from '../../cli/postmortem/text.js';
import { scriptedLog } from '../harness/events.js';

const T = 1_800_000_000_000;
const addr = (n: string) => [{ address: '10.0.0.100', prefix: 32, interface: `eth-${n}` }];

/** One node's log with helpers for the events of a tenure; `skew` is added to every time it records. */
function node(name: string, skew = 0) {
  const ev = scriptedLog(name, T);
  const log: StoredEvent[] = [];
  const add = (e: StoredEvent) => (log.push(e), e);
  return {
    log,
    master(at: number, reason: 'master_down_timer' | 'preempted' | 'priority_zero_advert' = 'master_down_timer') {
      return add(ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason, priority: 100 }, { ts: T + at + skew, source: 'vrrp' }));
    },
    backup(at: number) {
      return add(ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert', priority: 100 }, { ts: T + at + skew, source: 'vrrp' }));
    },
    bound(at: number, epoch: number, cause: StoredEvent, previous?: { node: string; epoch: number; gone_at: number; how: 'unbound' | 'lifetime' }) {
      add(ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch }, { ts: T + at - 5 + skew, source: 'fence', causation: cause.seq }));
      return add(ev('vip.bound', 'vip:web', { group: 'web', epoch, addresses: addr(name), valid_lft_s: 1, ...(previous ? { previous: { ...previous, gone_at: T + previous.gone_at } } : {}) }, { ts: T + at + skew, source: 'fence', causation: cause.seq }));
    },
    unbound(at: number, epoch: number, reason: string, cause?: StoredEvent) {
      return add(ev('vip.unbound', 'vip:web', { group: 'web', epoch, addresses: addr(name), reason }, { ts: T + at + skew, source: 'fence', ...(cause ? { causation: cause.seq } : {}) }));
    },
    observed(at: number, holder: { node: string; epoch: number } | null, previous: { node: string; epoch: number } | null, seen: 'watch' | 'session_start' = 'watch') {
      return add(ev('relay.lease_observed', 'vip:web', { group: 'web', holder, previous, speaker: 'n1', seen }, { ts: T + at + skew }));
    },
    event: ev,
    add,
  };
}

describe('postmortem: who held a VIP, and why', () => {
  it('a graceful move: tenures from each holder\'s record, the window between them, the chain of causes across nodes', () => {
    const n1 = node('n1');
    const n2 = node('n2');
    const m1 = n1.master(0);
    n1.bound(100, 1, m1);
    const b = n1.backup(5000);
    n1.unbound(5010, 1, 'VRRP instance VI_1 is BACKUP, not MASTER', b);
    const m2 = n2.master(4990, 'priority_zero_advert');
    n2.bound(5200, 2, m2, { node: 'n1', epoch: 1, gone_at: 5010, how: 'unbound' });
    const h = buildHistory([...n2.log, ...n1.log]);
    expect(h.tenures.get('web')!.map((t) => [t.node, t.epoch, t.from - T, t.to === undefined ? null : t.to - T, t.end?.how])).toEqual([
      ['n1', 1, 100, 5010, 'unbound'],
      ['n2', 2, 5200, null, undefined],
    ]);
    expect(h.unowned.map((u) => [u.from - T, u.to === undefined ? null : u.to - T, u.ms])).toEqual([[5010, 5200, 190]]);
    expect(h.overlaps).toEqual([]);
    expect(holderAt(h, 'web', T + 5100)).toBeUndefined();
    expect(holderAt(h, 'web', T + 6000)?.node).toBe('n2');

    const a = answerAt(h, 'web', T + 6000);
    expect(a.holder!.to).toMatchObject({ node: 'n2', epoch: 2 });
    expect(a.holder!.why.map((l) => l.type)).toEqual(['vip.bound', 'fence.lease_acquired', 'vrrp.state_changed']);
    expect(a.holder!.why[2]!.summary).toMatch(/priority_zero_advert/);
    expect(a.holder!.from).toMatchObject({ node: 'n1', epoch: 1, end: { how: 'unbound', by: 'n1' } });
    expect(a.holder!.previousEnd.map((l) => l.type)).toEqual(['vip.unbound', 'vrrp.state_changed']);
    expect(a.holder!.unownedMs).toBe(190);
    const text = answerText(a);
    expect(text).toMatch(/^web at .*: held by n2 \(epoch 2\), since .* \(800 ms before\)/);
    expect(text).toMatch(/nobody held web for 190 ms in between/);
    expect(answerText(answerAt(h, 'web', T + 5100))).toMatch(/held by nobody, from .*05\.010Z until .*05\.200Z \(190 ms\)[\s\S]*n1's tenure \(epoch 1\) ended .*unbound: VRRP instance VI_1 is BACKUP/);
  });

  it('a crash: the holder\'s record ends while bound; the next holder\'s bind closes it with the kernel\'s lifetime', () => {
    const n1 = node('n1');
    const n2 = node('n2');
    n1.bound(100, 1, n1.master(0));
    n1.add(n1.event('service.started', 'service:relay', { service: 'relay', version: '0', pid: 7 }, { ts: T + 200, source: 'relay' }));
    n2.add(n2.event('relay.node_changed', 'node:n1', { node: 'n1', change: 'left', speaker: 'n2' }, { ts: T + 2600 }));
    n2.bound(3100, 2, n2.master(2900), { node: 'n1', epoch: 1, gone_at: 2700, how: 'lifetime' });
    const h = buildHistory([...n1.log, ...n2.log]);
    const [t1] = h.tenures.get('web')!;
    expect(t1).toMatchObject({ node: 'n1', to: T + 2700, end: { how: 'lifetime', by: 'n2' } });
    const r = buildReport(h, [...n1.log, ...n2.log]);
    const move = r.groups[0]!.moves[1]!;
    expect(move.unownedMs).toBe(400);
    expect(move.around.map((l) => `${l.node} ${l.type}`)).toEqual(['n1 vrrp.state_changed', 'n1 service.started', 'n2 relay.node_changed']);
    expect(reportText(r, {})).toMatch(/n1's tenure \(epoch 1\) ended .*the kernel dropped its addresses \(when their lifetime ran out; the kernel may remove an expired address up to 250 ms later\): its addresses' lifetime ran out \(n1 stopped renewing them\) \(as n2 read it in ZooKeeper\)/);
  });

  it('two nodes bound at once per the logs (same clocks): reported as an overlap, loudly', () => {
    const n1 = node('n1');
    const n2 = node('n2');
    n1.bound(100, 1, n1.master(0));
    n1.unbound(5000, 1, 'stopping');
    n2.bound(4000, 2, n2.master(3900));
    const r = buildReport(buildHistory([...n1.log, ...n2.log]), [...n1.log, ...n2.log]);
    expect(r.groups[0]!.overlaps).toMatchObject([{ a: { node: 'n1' }, b: { node: 'n2' }, ms: 1000 }]);
    expect(reportText(r, {})).toMatch(/!!! TWO HOLDERS AT ONCE: n1 \(epoch 1\) and n2 \(epoch 2\) both had web bound for 1\.00 s/);
  });

  it('a node whose clock runs 2 s ahead: measured from the lease changes every relay saw, its times corrected, no false overlap', () => {
    const n1 = node('n1');
    const n2 = node('n2', 2000);
    const n3 = node('n3');
    // four lease changes, each seen by the three relays within a few ms (n2's clock +2 s)
    const changes: [number, { node: string; epoch: number } | null, { node: string; epoch: number } | null][] = [
      [50, { node: 'n1', epoch: 1 }, null], [5005, { node: 'n2', epoch: 2 }, { node: 'n1', epoch: 1 }],
      [9000, null, { node: 'n2', epoch: 2 }], [12000, { node: 'n3', epoch: 3 }, null],
    ];
    for (const [at, holder, previous] of changes) {
      n1.observed(at + 1, holder, previous);
      n2.observed(at + 3, holder, previous);
      n3.observed(at + 2, holder, previous);
    }
    // a relay that starts late records an old change: not a clock
    n3.observed(20000, { node: 'n9', epoch: 9 }, { node: 'n3', epoch: 3 }, 'session_start');
    n1.observed(9500, { node: 'n9', epoch: 9 }, { node: 'n3', epoch: 3 });
    n1.bound(100, 1, n1.master(0));
    n1.unbound(5000, 1, 'VRRP instance VI_1 is BACKUP, not MASTER');
    n2.bound(5100, 2, n2.master(5000), { node: 'n1', epoch: 1, gone_at: 5000, how: 'unbound' });
    n2.unbound(9000, 2, 'stopping');
    const all = [...n1.log, ...n2.log, ...n3.log];
    const clocks = estimateClocks(['n1', 'n2', 'n3'], all);
    expect(clocks.nodes.n2).toMatchObject({ offsetMs: 2002, corrected: true, observations: 4 });
    expect(clocks.nodes.n3).toMatchObject({ corrected: false, observations: 4 });
    const h = buildHistory(all);
    expect(h.tenures.get('web')!.map((t) => [t.node, t.from - T])).toEqual([['n1', 100], ['n2', 5098]]);
    expect(h.overlaps).toEqual([]);
    expect(h.conflicts).toEqual([]);
    expect(h.unowned[0]).toMatchObject({ from: T + 5000, to: T + 5098 });
    expect(reportText(buildReport(h, all), {})).toMatch(/n2's clock was 2\.00 s ahead of n[13]'s: its times below are corrected by -2002 ms/);
  });

  it('without measurements, a later epoch recorded before the earlier one ended is ordered by epoch and named as skew or overlap', () => {
    const n1 = node('n1');
    const n2 = node('n2', -3000);
    n1.bound(100, 1, n1.master(0));
    n1.unbound(5000, 1, 'stopping');
    n2.bound(5100, 2, n2.master(5000));
    const r = buildReport(buildHistory([...n1.log, ...n2.log]), [...n1.log, ...n2.log]);
    expect(r.groups[0]!.tenures.map((t) => t.epoch)).toEqual([1, 2]);
    expect(r.groups[0]!.orderConflicts).toMatchObject([{ earlier: { node: 'n1' }, later: { node: 'n2' }, ms: 2900 }]);
    const text = reportText(r, {});
    expect(text).toMatch(/n2 \(epoch 2\) recorded its bind 2\.90 s before n1 \(epoch 1\)'s end: ordered by epoch/);
    expect(text).toMatch(/Clocks of n2 not measured/);
  });
});
