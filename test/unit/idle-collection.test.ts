import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { fullCollection, periodicCollection } from '../../shared/idle-collection.js';

describe('full collection of an idle service', () => {
  it('is exposed at run time and takes back garbage in the old space', () => {
    const gc = fullCollection();
    expect(gc).toBeTypeOf('function');
    gc!();
    const before = getHeapStatistics().used_heap_size;
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    expect(getHeapStatistics().used_heap_size - before).toBeGreaterThan(5 * 2 ** 20);
    garbage = undefined;
    gc!();
    expect(garbage).toBeUndefined();
    expect(getHeapStatistics().used_heap_size - before).toBeLessThan(2 ** 20);
  });

  it('runs as a chore that stops, and when asked', () => {
    const collection = periodicCollection();
    expect(collection).toBeDefined();
    collection!.collectNow();
    collection!.stop();
  });
});
