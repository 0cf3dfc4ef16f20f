// The observers' overlap arithmetic: what the tests' safety assertions rest on.
import { describe, expect, it } from 'vitest';
import { longestOutage, outages, pairs, type Answer, type Presence } from '../../lab/observers.js';

const p = (node: string, after: number, from: number, to: number, gone: number): Presence => ({ node, after, from, to, gone });
const seen = (x: Presence): [number, number] => [x.from, x.to];
const widened = (x: Presence): [number, number] => [x.after, x.gone];

describe('overlaps between presences', () => {
  it('a handover seen cleanly is no overlap, seen or possible', () => {
    const ps = [p('a', 0, 2, 100, 102), p('b', 150, 152, Infinity, Infinity)];
    expect(pairs(ps, seen, true)).toEqual([]);
    expect(pairs(ps, widened, false)).toEqual([]);
  });
  it('a sampler stall around a change makes an overlap possible though none was seen', () => {
    // a last seen at 100, next sample only at 260 (stalled); b first seen at 152
    const ps = [p('a', 0, 2, 100, 260), p('b', 150, 152, Infinity, Infinity)];
    expect(pairs(ps, seen, true)).toEqual([]);
    expect(pairs(ps, widened, false).map((x) => x.ms)).toEqual([110]);
  });
  it('two nodes seen holding at once is an overlap either way; one node never overlaps itself', () => {
    const ps = [p('a', 0, 2, 100, 102), p('b', 50, 52, 60, 62), p('a', 200, 202, 300, 302)];
    expect(pairs(ps, seen, true).map((x) => [x.a.node, x.b.node, x.ms])).toEqual([['a', 'b', 8]]);
    expect(pairs(ps, widened, false)).toHaveLength(1);
  });
});

describe('client outages', () => {
  const a = (t: number, answer: string | null): Answer => ({ t, answer });
  it('from the first attempt without an answer to the next with one, clipped to the start; one still going is left out', () => {
    const answers = [a(0, 'n1'), a(50, null), a(80, 'n1'), a(100, null), a(300, 'n2'), a(400, null)];
    expect(outages(answers, 0)).toEqual([{ from: 50, to: 80, ms: 30 }, { from: 100, to: 300, ms: 200 }]);
    expect(outages(answers, 150)).toEqual([{ from: 150, to: 300, ms: 150 }]);
    expect(longestOutage(answers, 0)).toBe(200);
    expect(longestOutage([a(0, 'n1')], 0)).toBe(0);
  });
});
