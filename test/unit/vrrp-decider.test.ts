// Given these commands, when this happens, then these events: no I/O, an explicit clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { absorbsAdvert, ADVERT_SLOT_MS, advertSlots, effectivePriority, initialState, nextAdvertAt, nextDeadline, step, type VrrpCommand, type VrrpEvent, type VrrpInstanceSpec, type VrrpState } from '../../services/vrrp/decider.js';

const spec = (over: Partial<VrrpInstanceSpec> = {}): VrrpInstanceSpec => ({
  name: 'VI_1', version: 3, vrid: 51, priority: 100, advertIntervalMs: 1000, preempt: true, preemptDelayMs: 0,
  downTimerAdverts: 3, primaryAddress: '10.0.0.2', trackers: {}, ...over,
});

function given(s: VrrpInstanceSpec | VrrpState, ...commands: VrrpCommand[]): VrrpState {
  let st = 'spec' in s ? s : initialState(s);
  for (const c of commands) st = step(st, c).state;
  return st;
}
const when = (s: VrrpState, c: VrrpCommand) => step(s, c);
const types = (events: VrrpEvent[]) => events.map((e) => (e.type === 'state_changed' ? `${e.from}->${e.to}:${e.reason}` : e.type === 'advert_sent' ? `advert(${e.priority})` : e.type));
const skew = (p: number, intervalMs = 1000) => ((256 - p) * intervalMs) / 256;

describe('start-up (RFC 5798 6.4.1)', () => {
  it('a backup waits a master-down interval: 3 x interval + skew', () => {
    const { events, state } = when(initialState(spec()), { type: 'start', now: 0 });
    expect(types(events)).toEqual(['started', 'INIT->BACKUP:startup']);
    expect(state.masterDownAt).toBe(3000 + skew(100));
    expect(nextDeadline(state)).toBe(3000 + skew(100));
  });
  it('the address owner (priority 255) is master at once', () => {
    const { events, state } = when(initialState(spec({ priority: 255 })), { type: 'start', now: 5 });
    expect(types(events)).toEqual(['started', 'INIT->MASTER:address_owner', 'advert(255)']);
    expect(nextDeadline(state), "its next advert in VRID 51's slot (51 mod 4 slots: the fourth, 750 ms)").toBe(750);
  });
  it("honours keepalived's down_timer_adverts and v2's one-second skew", () => {
    expect(given(spec({ downTimerAdverts: 5 }), { type: 'start', now: 0 }).masterDownAt).toBe(5000 + skew(100));
    expect(given(spec({ version: 2, advertIntervalMs: 3000 }), { type: 'start', now: 0 }).masterDownAt).toBe(9000 + skew(100, 1000));
    expect(given(spec({ version: 3, advertIntervalMs: 3000 }), { type: 'start', now: 0 }).masterDownAt).toBe(9000 + skew(100, 3000));
  });
});

describe('backup (6.4.2)', () => {
  const backup = () => given(spec(), { type: 'start', now: 0 });
  it('becomes master when the master-down timer fires, not before', () => {
    const s = backup();
    expect(when(s, { type: 'tick', now: 3000 }).events).toEqual([]);
    const { events, state } = when(s, { type: 'tick', now: 3609.375 });
    expect(types(events)).toEqual(['BACKUP->MASTER:master_down_timer', 'advert(100)']);
    expect(state.advertAt, "the next in VRID 51's slot of its 1 s interval (750 ms)").toBe(3750);
  });
  it("an advert from a higher-priority master resets the timer and teaches the master's interval (v3)", () => {
    const { state } = when(backup(), { type: 'advert', now: 2000, from: '10.0.0.1', priority: 150, intervalMs: 2000 });
    expect(state.masterAdverIntervalMs).toBe(2000);
    expect(state.masterDownAt).toBe(2000 + 6000 + skew(100, 2000));
    expect(state.master).toBe('10.0.0.1');
  });
  it('a master claiming a shorter interval than ours is still waited for 3 x our own interval (a forged tiny interval cannot make it flip faster)', () => {
    const { state } = when(backup(), { type: 'advert', now: 2000, from: '10.0.0.1', priority: 150, intervalMs: 10 });
    expect(state.masterAdverIntervalMs).toBe(10);
    expect(state.masterDownAt).toBe(2000 + 3000 + skew(100, 10));
  });
  it('a flood of higher-priority adverts with a 10 ms interval, 50 ms apart, makes one state change, not one per packet', () => {
    let s = given(spec(), { type: 'start', now: 0 }, { type: 'tick', now: 3609.375 });
    expect(s.state).toBe('MASTER');
    let changes = 0;
    for (let t = 4000; t < 7000; t += 50) {
      for (const c of [{ type: 'advert', now: t, from: '10.0.0.1', priority: 200, intervalMs: 10 }, { type: 'tick', now: t + 40 }] as VrrpCommand[]) {
        const r = step(s, c);
        changes += r.events.filter((e) => e.type === 'state_changed').length;
        s = r.state;
      }
    }
    expect(changes).toBe(1);
  });
  it('a priority-0 advert shortens the wait to the skew time', () => {
    const s = given(backup(), { type: 'advert', now: 1000, from: '10.0.0.1', priority: 0, intervalMs: 1000 });
    expect(s.masterDownAt).toBe(1000 + skew(100));
    const { events } = when(s, { type: 'tick', now: 1000 + skew(100) });
    expect(types(events)).toEqual(['BACKUP->MASTER:priority_zero_advert', 'advert(100)']);
  });
  it('preempt: the first advert of a lower-priority master makes the backup take over at once (RFC 5798 would wait for the master-down timer)', () => {
    const { events } = when(backup(), { type: 'advert', now: 1000, from: '10.0.0.1', priority: 50, intervalMs: 1000 });
    expect(types(events)).toEqual(['lower_priority_ignored', 'BACKUP->MASTER:preempted', 'advert(100)']);
    expect((events[1] as { detail: string }).detail).toMatch(/preempting 10\.0\.0\.1 with priority 100/);
  });
  it('preempt in a sync group: a member ignores the lower-priority master and wants MASTER when its timer fires, for its group', () => {
    const s = given(spec({ synced: true }), { type: 'start', now: 0 }, { type: 'advert', now: 1000, from: '10.0.0.1', priority: 50, intervalMs: 1000 }, { type: 'advert', now: 2000, from: '10.0.0.1', priority: 50, intervalMs: 1000 });
    expect(s.masterDownAt).toBe(3609.375);
    expect(types(when(s, { type: 'tick', now: 3609.375 }).events)).toEqual(['wants_master']);
  });
  it('nopreempt: a lower-priority master keeps its role', () => {
    const s = given(spec({ preempt: false }), { type: 'start', now: 0 }, { type: 'advert', now: 3000, from: '10.0.0.1', priority: 50, intervalMs: 1000 });
    expect(when(s, { type: 'tick', now: 3609.375 }).events).toEqual([]);
    expect(s.masterDownAt).toBe(6609.375);
  });
  it('preempt_delay: no preemption until the delay after start-up has passed', () => {
    let s = given(spec({ preemptDelayMs: 10_000 }), { type: 'start', now: 0 });
    for (let t = 1000; t < 10_000; t += 1000) s = given(s, { type: 'advert', now: t, from: '10.0.0.1', priority: 50, intervalMs: 1000 });
    expect(s.state).toBe('BACKUP');
    expect(s.masterDownAt).toBe(9000 + 3609.375);
    expect(types(when(s, { type: 'advert', now: 10_000, from: '10.0.0.1', priority: 50, intervalMs: 1000 }).events)).toEqual(['lower_priority_ignored', 'BACKUP->MASTER:preempted', 'advert(100)']);
  });
});

describe('the lease holder gone (the fence names this node its successor)', () => {
  const heard = () => given(spec(), { type: 'start', now: 0 }, { type: 'advert', now: 1000, from: '10.0.0.1', priority: 150, intervalMs: 1000 });
  it('takes over once the master\'s adverts are overdue (1.25 intervals after the last), not after the master-down interval', () => {
    const s = given(heard(), { type: 'lease_free', now: 1800, detail: 'lease holder n1 left' });
    expect(s.masterDownAt).toBe(2250);
    expect(when(s, { type: 'tick', now: 2249 }).events).toEqual([]);
    const { events } = when(s, { type: 'tick', now: 2250 });
    expect(types(events)).toEqual(['BACKUP->MASTER:lease_free', 'advert(100)']);
    expect((events[0] as { detail: string }).detail).toBe('lease holder n1 left; last advert 1250 ms ago');
  });
  it('at once when the adverts are overdue already (the transition is caused by the fence\'s word, not a timer)', () => {
    const { events, state } = when(heard(), { type: 'lease_free', now: 3000, detail: 'x' });
    expect(types(events)).toEqual(['lease_free_heard', 'BACKUP->MASTER:lease_free', 'advert(100)']);
    expect(state.state).toBe('MASTER');
  });
  it('an advert after it (the old master\'s vrrp still alive) restores the whole master-down interval', () => {
    const s = given(heard(), { type: 'lease_free', now: 1800, detail: 'x' }, { type: 'advert', now: 2000, from: '10.0.0.1', priority: 150, intervalMs: 1000 });
    expect(s.masterDownReason).toBe('master_down_timer');
    expect(s.masterDownAt).toBe(2000 + 3609.375);
  });
  it('a master that released (priority 0) is not waited for: at once instead of after the skew time', () => {
    const released = given(heard(), { type: 'advert', now: 1100, from: '10.0.0.1', priority: 0, intervalMs: 1000 });
    expect(released.masterDownAt).toBe(1100 + skew(100));
    const { events } = when(released, { type: 'lease_free', now: 1120, detail: 'x' });
    expect(types(events)).toEqual(['lease_free_heard', 'BACKUP->MASTER:lease_free', 'advert(100)']);
  });
  it('never makes the wait longer, and only a BACKUP listens', () => {
    // one advert's master-down interval at priority 250: 1000 + 23 ms, sooner than 1.25 intervals
    const soon = given(spec({ downTimerAdverts: 1, priority: 250 }), { type: 'start', now: 0 }, { type: 'advert', now: 1000, from: '10.0.0.1', priority: 254, intervalMs: 1000 });
    expect(when(soon, { type: 'lease_free', now: 1100, detail: 'x' }).events).toEqual([]);
    const late = given(spec(), { type: 'start', now: 0 });
    expect(given(late, { type: 'lease_free', now: 100, detail: 'x' }).state).toBe('MASTER'); // nothing heard: no adverts to wait for
    const master = given(heard(), { type: 'tick', now: 10_000 });
    expect(master.state).toBe('MASTER');
    expect(when(master, { type: 'lease_free', now: 10_001, detail: 'x' }).events).toEqual([]);
  });
});

describe('the lease held by a node of lower configured priority (the fence says so when its session begins)', () => {
  const backup = (over: Partial<VrrpInstanceSpec> = {}) => given(spec({ priority: 150, ...over }), { type: 'start', now: 0 });
  it('a preempting BACKUP above it takes over at once', () => {
    const { events } = when(backup(), { type: 'lease_outranked', now: 10, holderPriority: 100, detail: 'lease held by n2' });
    expect(types(events)).toEqual(['BACKUP->MASTER:preempted', 'advert(150)']);
    expect((events[0] as { detail: string }).detail).toBe('lease held by n2; preempting with priority 150');
  });
  it('not with nopreempt, within preempt_delay, in a sync group, or at or below the holder', () => {
    expect(when(backup({ preempt: false }), { type: 'lease_outranked', now: 10, holderPriority: 100, detail: 'x' }).events).toEqual([]);
    expect(when(backup({ preemptDelayMs: 5000 }), { type: 'lease_outranked', now: 10, holderPriority: 100, detail: 'x' }).events).toEqual([]);
    expect(when(backup({ synced: true }), { type: 'lease_outranked', now: 10, holderPriority: 100, detail: 'x' }).events).toEqual([]);
    expect(when(backup(), { type: 'lease_outranked', now: 10, holderPriority: 150, detail: 'x' }).events).toEqual([]);
  });
});

describe("a master's advert schedule", () => {
  it('on time, or late by less than an interval: exactly one interval on; no drift', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 10_000_000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (cs, vrid, t0, late) => {
      const interval = cs * 10;
      const due = nextAdvertAt(t0, interval, vrid);
      expect(nextAdvertAt(due + late * interval, interval, vrid)).toBeCloseTo(due + interval, 6);
    }), { numRuns: 500 });
  });
  it('after any advert (out of turn, a stall): the next within one interval, never later', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 1, max: 255 }), fc.double({ min: 0, max: 1e7, noNaN: true }), (cs, vrid, at) => {
      const interval = cs * 10;
      const gap = nextAdvertAt(at, interval, vrid) - at;
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(interval + 1e-6);
    }), { numRuns: 500 });
  });
  it("instances with one interval share at most ADVERT_SLOTS_MAX moments, ADVERT_SLOT_MS or more apart", () => {
    for (const [interval, slots] of [[100, 4], [1000, 4], [250, 4], [30, 3], [10, 1], [20, 2]] as const) {
      const moments = new Set(Array.from({ length: 255 }, (_, v) => nextAdvertAt(12_345, interval, v + 1)));
      expect(moments.size, `${interval} ms`).toBe(slots);
      expect(advertSlots(interval)).toBe(slots);
      const sorted = [...moments].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(ADVERT_SLOT_MS - 1e-9);
    }
  });
});

describe('master (6.4.3)', () => {
  const master = (over: Partial<VrrpInstanceSpec> = {}) => given(spec(over), { type: 'start', now: 0 }, { type: 'tick', now: 3609.375 });
  it('advertises every interval', () => {
    const s = master();
    expect(when(s, { type: 'tick', now: 3700 }).events).toEqual([]);
    const { events, state } = when(s, { type: 'tick', now: 3750 });
    expect(types(events)).toEqual(['advert(100)']);
    expect(state.advertAt).toBe(4750);
    expect(when(s, { type: 'tick', now: 3752.5 }).state.advertAt, 'a late timer does not shift the schedule').toBe(4750);
  });
  it('steps down for a higher priority, and learns its interval', () => {
    const { events, state } = when(master(), { type: 'advert', now: 5000, from: '10.0.0.1', priority: 150, intervalMs: 2000 });
    expect(types(events)).toEqual(['higher_priority_seen', 'MASTER->BACKUP:higher_priority_advert']);
    expect(state.masterDownAt).toBe(5000 + 6000 + skew(100, 2000));
  });
  it('equal priorities: the higher primary address wins', () => {
    expect(types(when(master(), { type: 'advert', now: 5000, from: '10.0.0.3', priority: 100, intervalMs: 1000 }).events)).toEqual(['higher_priority_seen', 'MASTER->BACKUP:higher_priority_advert']);
    expect(types(when(master(), { type: 'advert', now: 5000, from: '10.0.0.1', priority: 100, intervalMs: 1000 }).events)).toEqual(['advert(100)']);
  });
  it('answers a lower priority or a priority-0 advert at once (keepalived forces a new election)', () => {
    expect(types(when(master(), { type: 'advert', now: 5000, from: '10.0.0.1', priority: 50, intervalMs: 1000 }).events)).toEqual(['advert(100)']);
    const { events, state } = when(master(), { type: 'advert', now: 5000, from: '10.0.0.1', priority: 0, intervalMs: 1000 });
    expect(types(events)).toEqual(['advert(100)']);
    expect(state.advertAt, 'the first slot after the advert out of turn').toBe(5750);
  });
  it('on stop sends priority 0 and stops; a backup just stops', () => {
    expect(types(when(master(), { type: 'stop', now: 5000 }).events)).toEqual(['advert(0)', 'MASTER->STOPPED:shutdown']);
    expect(types(when(given(spec(), { type: 'start', now: 0 }), { type: 'stop', now: 1 }).events)).toEqual(['BACKUP->STOPPED:shutdown']);
    expect(nextDeadline(given(master(), { type: 'stop', now: 5000 }))).toBeUndefined();
  });
});

describe('tracked conditions and FAULT (keepalived)', () => {
  const trackers = { chk: { weight: -20, initiallyOk: true }, bonus: { weight: 10, initiallyOk: false }, eth1: { weight: 0, initiallyOk: true } };
  it('weights move the priority; a master announces it at once', () => {
    const s = given(spec({ trackers }), { type: 'start', now: 0 }, { type: 'tick', now: 3609.375 });
    const { events, state } = when(s, { type: 'track', now: 4000, name: 'chk', ok: false, detail: 'exit 1' });
    expect(types(events)).toEqual(['tracker_changed', 'priority_changed', 'advert(80)']);
    expect(events[1]).toMatchObject({ from: 100, to: 80, reason: 'chk failed: exit 1' });
    expect(effectivePriority(state)).toBe(80);
    expect(effectivePriority(given(state, { type: 'track', now: 4100, name: 'bonus', ok: true }))).toBe(90);
    expect(when(state, { type: 'track', now: 4200, name: 'chk', ok: false }).events).toEqual([]); // no change, no event
    expect(when(state, { type: 'track', now: 4200, name: 'unknown', ok: false }).events).toEqual([]);
  });
  it('priority stays within 1..254, and an address owner ignores weights', () => {
    const low = given(spec({ priority: 10, trackers: { big: { weight: -100, initiallyOk: true } } }), { type: 'start', now: 0 }, { type: 'track', now: 1, name: 'big', ok: false });
    expect(effectivePriority(low)).toBe(1);
    const high = given(spec({ priority: 250, trackers: { up: { weight: 100, initiallyOk: true } } }), { type: 'start', now: 0 });
    expect(effectivePriority(high)).toBe(254);
    const owner = given(spec({ priority: 255, trackers: { chk: { weight: -50, initiallyOk: false } } }), { type: 'start', now: 0 });
    expect(effectivePriority(owner)).toBe(255);
  });
  it('a weight-0 failure puts a master in FAULT after a priority-0 advert; recovery goes to BACKUP', () => {
    const s = given(spec({ trackers }), { type: 'start', now: 0 }, { type: 'tick', now: 3609.375 });
    const { events, state } = when(s, { type: 'track', now: 5000, name: 'eth1', ok: false, detail: 'link down' });
    expect(types(events)).toEqual(['tracker_changed', 'advert(0)', 'MASTER->FAULT:fault']);
    expect(nextDeadline(state)).toBeUndefined();
    expect(when(state, { type: 'advert', now: 5100, from: '10.0.0.1', priority: 50, intervalMs: 1000 }).events).toEqual([]);
    expect(when(state, { type: 'tick', now: 99_999 }).events).toEqual([]);
    const back = when(state, { type: 'track', now: 6000, name: 'eth1', ok: true });
    expect(types(back.events)).toEqual(['tracker_changed', 'FAULT->BACKUP:fault_cleared']);
    expect(back.state.masterDownAt).toBe(6000 + 3609.375);
  });
  it('a node whose fence is not alive starts in FAULT and never advertises until it is', () => {
    const fenced = spec({ trackers: { fence: { weight: 0, initiallyOk: false } } });
    const { events, state } = when(initialState(fenced), { type: 'start', now: 0 });
    expect(types(events)).toEqual(['started', 'INIT->FAULT:fault']);
    expect(types(when(state, { type: 'track', now: 10, name: 'fence', ok: true, detail: 'ZooKeeper session up' }).events)).toEqual(['tracker_changed', 'FAULT->BACKUP:fault_cleared']);
  });
});

describe('two instances on one simulated link', () => {
  interface Node { id: string; s: VrrpState; alive: boolean }
  /** Delivers adverts instantly to the other live nodes; steps time to the next deadline. */
  function simulate(nodes: Node[], until: number, onTime?: (t: number) => void): void {
    let now = 0;
    const deliver = (from: Node, events: VrrpEvent[]) => {
      for (const e of events) {
        if (e.type !== 'advert_sent') continue;
        for (const to of nodes) {
          if (to === from || !to.alive) continue;
          const r = step(to.s, { type: 'advert', now, from: from.id, priority: e.priority, intervalMs: from.s.spec.advertIntervalMs });
          to.s = r.state;
          deliver(to, r.events);
        }
      }
    };
    for (const n of nodes) {
      const r = step(n.s, { type: 'start', now });
      n.s = r.state;
      deliver(n, r.events);
    }
    while (now < until) {
      const next = Math.min(...nodes.filter((n) => n.alive).map((n) => nextDeadline(n.s) ?? Infinity), until);
      now = next;
      onTime?.(now);
      for (const n of nodes) {
        if (!n.alive) continue;
        const r = step(n.s, { type: 'tick', now });
        n.s = r.state;
        deliver(n, r.events);
      }
    }
  }

  it('settles on exactly one master, the highest priority, for any priorities and intervals', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 100 }), (p1, p2, cs) => {
      const nodes: Node[] = [
        { id: '10.0.0.1', s: initialState(spec({ priority: p1, primaryAddress: '10.0.0.1', advertIntervalMs: cs * 10 })), alive: true },
        { id: '10.0.0.2', s: initialState(spec({ priority: p2, primaryAddress: '10.0.0.2', advertIntervalMs: cs * 10 })), alive: true },
      ];
      simulate(nodes, cs * 10 * 20);
      const masters = nodes.filter((n) => n.s.state === 'MASTER');
      expect(masters).toHaveLength(1);
      // Equal priorities: whoever's timer fires first wins; the other hears it and defers.
      if (p1 !== p2) expect(masters[0]!.id).toBe(p1 > p2 ? '10.0.0.1' : '10.0.0.2');
    }), { numRuns: 300 });
  });

  it('after the master dies, the backup takes over one master-down interval after its last advert', () => {
    const nodes: Node[] = [
      { id: '10.0.0.1', s: initialState(spec({ priority: 150, primaryAddress: '10.0.0.1', advertIntervalMs: 100 })), alive: true },
      { id: '10.0.0.2', s: initialState(spec({ priority: 100, primaryAddress: '10.0.0.2', advertIntervalMs: 100 })), alive: true },
    ];
    simulate(nodes, 1000);
    expect(nodes.map((n) => n.s.state)).toEqual(['MASTER', 'BACKUP']);
    const lastAdvert = nodes[0]!.s.advertAt! - 100; // the master dies right after this advert
    const survivor = nodes[1]!.s;
    const takeoverAt = lastAdvert + 300 + skew(100, 100);
    expect(survivor.masterDownAt).toBeCloseTo(takeoverAt);
    expect(step(survivor, { type: 'tick', now: takeoverAt - 1 }).events).toEqual([]);
    expect(types(step(survivor, { type: 'tick', now: takeoverAt }).events)).toEqual(['BACKUP->MASTER:master_down_timer', 'advert(100)']);
  });
});

describe('routine adverts (left to the socket: they only push the master-down timer back)', () => {
  const heardAt = (s: VrrpState, at: number, from: string, priority: number) => {
    const after = when(s, { type: 'advert', now: at, from, priority, intervalMs: 1000 }).state;
    return { after, routine: absorbsAdvert(after, { at, from, priority }) };
  };
  const backup = (over: Partial<VrrpInstanceSpec> = {}) => given(spec(over), { type: 'start', now: 0 });

  it('a backup hearing its master at a priority at or above its own: routine', () => {
    expect(heardAt(backup(), 100, '10.0.0.1', 150).routine).toBe(true);
    expect(heardAt(backup(), 100, '10.0.0.1', 100).routine).toBe(true);
    expect(heardAt(backup({ preempt: false }), 100, '10.0.0.1', 50).routine, 'nopreempt: a lower master is kept').toBe(true);
  });
  it('applying only the last of many routine adverts leaves the same state as applying each', () => {
    let each = backup();
    for (let t = 100; t <= 5100; t += 1000) each = when(each, { type: 'advert', now: t, from: '10.0.0.1', priority: 150, intervalMs: 1000 }).state;
    const first = when(backup(), { type: 'advert', now: 100, from: '10.0.0.1', priority: 150, intervalMs: 1000 }).state;
    const last = when(first, { type: 'advert', now: 5100, from: '10.0.0.1', priority: 150, intervalMs: 1000 }).state;
    expect(last).toEqual(each);
  });
  it('not: a priority-0 advert, a master it preempts, one within preempt_delay, a sync group member, a master or an instance in FAULT', () => {
    expect(heardAt(backup(), 100, '10.0.0.1', 0).routine).toBe(false);
    expect(heardAt(backup(), 100, '10.0.0.1', 50).routine, 'preempted at once').toBe(false);
    expect(heardAt(backup({ preemptDelayMs: 10_000 }), 100, '10.0.0.1', 50).routine, 'preempt_delay ends at a time, not at an advert').toBe(false);
    expect(heardAt(backup({ synced: true }), 100, '10.0.0.1', 150).routine).toBe(false);
    const master = given(spec({ priority: 200 }), { type: 'start', now: 0 }, { type: 'tick', now: 4000 });
    expect(master.state).toBe('MASTER');
    expect(heardAt(master, 4100, '10.0.0.1', 100).routine).toBe(false);
    const faulted = given(spec({ trackers: { link: { weight: 0, initiallyOk: false } } }), { type: 'start', now: 0 });
    expect(faulted.state).toBe('FAULT');
    expect(heardAt(faulted, 100, '10.0.0.1', 150).routine).toBe(false);
  });
  it('not once the fence named this node for a free lease (the next advert must cancel that)', () => {
    const heard = when(backup(), { type: 'advert', now: 100, from: '10.0.0.1', priority: 150, intervalMs: 1000 }).state;
    const named = when(heard, { type: 'lease_free', now: 200, detail: 'the holder left' }).state;
    expect(absorbsAdvert(named, { at: 100, from: '10.0.0.1', priority: 150 })).toBe(false);
  });
});
