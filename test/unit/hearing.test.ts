// Who hears whom (vrrp) and when a holder gives way (fence), without I/O.
import { describe, expect, it } from 'vitest';
import { giveWayTo, type InstanceHearing } from '../../services/fence/hearing.js';
import { parseHearingRecord } from '../../shared/zookeeper/hearing-record.js';
import { nextStep, type GroupFacts } from '../../services/fence/decider.js';
import { currentHearing } from '../../services/vrrp/hearing.js';

const address = (n: string) => `10.0.0.${n.charCodeAt(0) - 96}`; // a -> 10.0.0.1
/** Views from "who hears whom": { a: ['b'] } = a hears b's adverts. */
const views = (m: Record<string, string[]>) => new Map<string, InstanceHearing>(Object.entries(m).map(([n, hears]) => [n, { address: address(n), hears: hears.map(address) }]));

describe('a holder the other directors cannot hear gives way', () => {
  it('three directors, the holder cut off: the two others hear b and not a, b waits in the lock: a gives way to b', () => {
    const w = giveWayTo('a', ['a', 'b', 'c'], views({ a: [], b: [], c: ['b'] }), ['a', 'b']);
    expect(w).toMatchObject({ to: 'b', heardBy: ['b', 'c'], directors: 3 });
    expect(w!.why).toMatch(/b, c \(2 of 3 directors\) hear b's VRRP adverts and not this node's/);
  });
  it('nobody waiting in the lock: nothing to give way to', () => {
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ a: [], b: [], c: ['b'] }), ['a'])).toBeUndefined();
  });
  it('one of the others still hears the holder (a partial cut): it keeps the lease', () => {
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ a: ['c'], b: [], c: ['a', 'b'] }), ['a', 'b'])).toBeUndefined();
  });
  it('two directors: never (the other alone is no majority)', () => {
    expect(giveWayTo('a', ['a', 'b'], views({ a: [], b: [] }), ['a', 'b'])).toBeUndefined();
  });
  it('four directors split two and two: the holder keeps the lease', () => {
    expect(giveWayTo('a', ['a', 'b', 'c', 'd'], views({ a: ['b'], b: ['a'], c: [], d: ['c'] }), ['a', 'c'])).toBeUndefined();
  });
  it('four directors, three of them cut from the holder: it gives way', () => {
    expect(giveWayTo('a', ['a', 'b', 'c', 'd'], views({ a: [], b: [], c: ['b'], d: ['b'] }), ['a', 'b'])).toMatchObject({ to: 'b', heardBy: ['b', 'c', 'd'] });
  });
  it('every director deaf to every other (multicast broken everywhere): nobody gives way', () => {
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ a: [], b: [], c: [] }), ['a', 'b', 'c'])).toBeUndefined();
  });
  it('a director without a record counts as hearing the holder; without its own record the holder decides nothing', () => {
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ a: [], b: [] }), ['a', 'b'])).toBeUndefined();
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ b: [], c: ['b'] }), ['a', 'b'])).toBeUndefined();
  });
  it('a node that is not a configured director neither counts nor takes the lease', () => {
    expect(giveWayTo('a', ['a', 'b', 'c'], views({ a: [], x: [], b: ['x'], c: ['x'] }), ['a', 'x'])).toBeUndefined();
  });

  it('cannot flap: whenever a holder gives way, the new holder would not give way to anyone (every hearing of 3 and 4 directors)', () => {
    for (const n of [3, 4]) {
      const nodes = 'abcd'.slice(0, n).split('');
      const pairs = nodes.flatMap((x) => nodes.filter((y) => y !== x).map((y) => [x, y] as const));
      let moves = 0;
      for (let mask = 0; mask < 1 << pairs.length; mask++) {
        const m: Record<string, string[]> = Object.fromEntries(nodes.map((x) => [x, []]));
        pairs.forEach(([x, y], i) => {
          if (mask & (1 << i)) m[x]!.push(y);
        });
        const v = views(m);
        for (const holder of nodes) {
          const w = giveWayTo(holder, nodes, v, nodes);
          if (!w) continue;
          moves++;
          expect(giveWayTo(w.to, nodes, v, nodes), `${JSON.stringify(m)}: ${holder} -> ${w.to} -> ?`).toBeUndefined();
        }
      }
      expect(moves, 'some hearings do move the lease').toBeGreaterThan(0);
    }
  });
});

describe('hearing records read from ZooKeeper', () => {
  const rec = (o: unknown) => Buffer.from(JSON.stringify(o));
  it('accepts a valid record of the node it is stored under', () => {
    expect(parseHearingRecord(rec({ node: 'b', instances: { VI_1: { address: '10.0.0.2', hears: ['10.0.0.1'] } } }), 'b')).toMatchObject({ ok: true });
  });
  it('refuses, saying why: not JSON, another node, a field that is not an address', () => {
    expect(parseHearingRecord(Buffer.from('{'), 'b')).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
    expect(parseHearingRecord(rec({ node: 'c', instances: {} }), 'b')).toMatchObject({ ok: false, error: 'names node "c", not "b"' });
    expect(parseHearingRecord(rec({ node: 'b', instances: { VI_1: { address: 'x', hears: [] } } }), 'b')).toMatchObject({ ok: false, error: expect.stringMatching(/instances\.VI_1\.address/) });
  });
});

describe('fence decider: giving way', () => {
  const base: GroupFacts = { master: true, session: 'connected', leaseLeftMs: 1300, candidate: { epoch: 7 }, lowest: { epoch: 7, node: 'a', ours: true }, bound: undefined };
  const giveWay = { to: 'b', heardBy: ['b', 'c'], directors: 3, why: 'b, c hear b and not a' };
  it('bound: gives way (unbind, then leave) instead of staying bound', () => {
    expect(nextStep({ ...base, bound: { epoch: 7 }, giveWay })).toEqual({ kind: 'give_way', to: giveWay });
  });
  it('first in line, not yet bound: gives way instead of binding', () => {
    expect(nextStep({ ...base, giveWay })).toEqual({ kind: 'give_way', to: giveWay });
  });
  it('a lost session or a VRRP BACKUP still unbinds for that reason first', () => {
    expect(nextStep({ ...base, bound: { epoch: 7 }, session: 'lost', giveWay }).kind).toBe('unbind');
    expect(nextStep({ ...base, bound: { epoch: 7 }, master: false, giveWay }).kind).toBe('unbind');
  });
});

describe('vrrp: whose adverts an instance hears', () => {
  it('sources within the window, sorted; older ones expire; the next expiry is the earliest', () => {
    const last = new Map([['10.0.0.3', 900], ['10.0.0.2', 500], ['10.0.0.9', 100]]);
    expect(currentHearing(last, 1000, 600, undefined)).toEqual({ hears: ['10.0.0.2', '10.0.0.3'], expired: ['10.0.0.9'], nextExpiry: 1100 });
  });
  it('the routine source (its adverts absorbed by the socket) is heard without a timer, however old its last handled advert', () => {
    expect(currentHearing(new Map([['10.0.0.1', 0]]), 10_000, 600, '10.0.0.1')).toEqual({ hears: ['10.0.0.1'], expired: [], nextExpiry: undefined });
  });
  it('a source exactly one window old is no longer heard', () => {
    expect(currentHearing(new Map([['10.0.0.1', 400]]), 1000, 600, undefined).hears).toEqual([]);
  });
});
