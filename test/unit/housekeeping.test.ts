import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { atNext, every, type Chore } from '../../shared/housekeeping.js';

describe('housekeeping', () => {
  const chores: Chore[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000_001_234);
  });
  afterEach(() => {
    for (const c of chores.splice(0)) c.stop();
    vi.useRealTimers();
  });
  const t0 = 1_000_000_000_000;
  const since = (log: number[]) => log.map((t) => t - t0);

  it('runs each chore at the multiples of its period on the wall clock, whenever it was added: chores of one period (or of multiples) in one wake-up', async () => {
    const five: number[] = [];
    const ten: number[] = [];
    const wakes: number[] = [];
    chores.push(every(5000, () => five.push(Date.now())));
    await vi.advanceTimersByTimeAsync(2000); // the second one added 2 s later
    chores.push(every(10_000, () => ten.push(Date.now())));
    chores.push(every(5000, () => wakes.push(Date.now())));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(since(five)).toEqual([5000, 10_000, 15_000, 20_000, 25_000, 30_000]);
    expect(since(wakes)).toEqual(since(five));
    expect(since(ten)).toEqual([10_000, 20_000, 30_000]);
    expect(vi.getTimerCount(), 'one timer for all').toBe(1);
  });

  it('atNext runs once at the next multiple; a stopped chore never runs again', async () => {
    const once: number[] = [];
    const periodic: number[] = [];
    chores.push(atNext(5000, () => once.push(Date.now())));
    const p = every(1000, () => periodic.push(Date.now()));
    await vi.advanceTimersByTimeAsync(12_000);
    expect(since(once)).toEqual([5000]);
    p.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(since(periodic)).toEqual([2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000, 11_000, 12_000, 13_000]);
    expect(vi.getTimerCount(), 'nothing left to run: no timer keeps the process alive').toBe(0);
  });

  it('a chore that throws does not keep the others due with it from running, and its error is not swallowed', () => {
    const ran: string[] = [];
    const timer = vi.spyOn(globalThis, 'setTimeout');
    chores.push(every(5000, () => {
      ran.push('first');
      throw new Error('boom');
    }));
    chores.push(every(5000, () => ran.push('second')));
    const fire = timer.mock.calls.at(-1)![0] as () => void; // what the timer runs (its error is then the process's, as a timer of its own would have thrown it)
    timer.mockRestore();
    vi.setSystemTime(t0 + 5000);
    expect(fire).toThrow('boom');
    expect(ran).toEqual(['first', 'second']);
  });

  it('a chore stopped by another due in the same wake-up does not run', async () => {
    const ran: string[] = [];
    let second: Chore | undefined;
    chores.push(every(5000, () => {
      ran.push('first');
      second?.stop();
    }));
    second = every(5000, () => ran.push('second'));
    chores.push(second);
    await vi.advanceTimersByTimeAsync(6000);
    expect(ran).toEqual(['first']);
  });

  it('a wall clock set back an hour delays a chore by its period at most', async () => {
    const ran: number[] = [];
    chores.push(every(5000, () => ran.push(Date.now())));
    vi.setSystemTime(t0 - 3_600_000); // (moves the clock only: the timer still fires 3.8 s from now)
    await vi.advanceTimersByTimeAsync(3766 + 5000);
    expect(ran.map((t) => t - (t0 - 3_600_000))).toEqual([5000]);
  });

  it('refuses a period that is not positive', () => {
    expect(() => every(0, () => undefined)).toThrow(/positive/);
  });
});
