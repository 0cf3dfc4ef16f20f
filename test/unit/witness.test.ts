// The file against a copy of its events kept elsewhere (the relay's stream): pure.
import { describe, expect, it } from 'vitest';
import { WitnessComparison } from '../../shared/eventlog/witness.js';

const file = new Map([1, 2, 3, 4].map((s) => [s, `h${s}`]));
const copy = (seq: number, hash = `h${seq}`, log = 'L') => ({ seq, id: `n1:${log}:${seq}`, hash });

describe('WitnessComparison', () => {
  it('agrees with an equal copy, and with a copy that is behind', () => {
    const c = new WitnessComparison('L', 4, (s) => file.get(s));
    for (const w of [copy(1), copy(2), copy(3)]) expect(c.add(w)).toBe(true);
    expect(c).toMatchObject({ compared: 3, witnessedUpTo: 3, problem: undefined });
  });
  it('names the first seq whose hash differs', () => {
    const c = new WitnessComparison('L', 4, (s) => file.get(s));
    c.add(copy(1));
    expect(c.add(copy(2, 'other'))).toBe(false);
    expect(c.add(copy(3, 'other'))).toBe(false);
    expect(c.problem?.seq).toBe(2);
  });
  it('names a deleted tail', () => {
    const c = new WitnessComparison('L', 4, (s) => file.get(s));
    [1, 2, 3, 4, 5, 6].forEach((s) => c.add(copy(s)));
    expect(c.problem).toMatchObject({ seq: 5, text: expect.stringMatching(/ends at seq 4, but the stream holds this log's events up to seq 5/) });
  });
  it("ignores copies of an earlier file of the same node (another log id)", () => {
    const c = new WitnessComparison('L', 4, (s) => file.get(s));
    expect(c.add(copy(9, 'x', 'OLD'))).toBe(true);
    expect(c).toMatchObject({ compared: 0, problem: undefined });
  });
});
