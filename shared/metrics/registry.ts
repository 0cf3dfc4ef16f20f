// The metrics a service process counts in memory (adverts sent, packets dropped, append
// latency): it writes a snapshot to its node's pulse board within a second of a change, and the relay, which
// serves the node's /metrics, reads every service's snapshot at each scrape.
import { z } from 'zod';
import { METRICS, type CounterName, type GaugeName, type MetricName } from './catalogue.js';
import type { HistogramSample, Labels, Sample } from './exposition.js';

const key = (name: string, labels: Labels) => `${name}\u0000${JSON.stringify(labels)}`;

/** A histogram of one label set (cumulative counts per bound, as exposed). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  /** Called after each observation (the registry it is attached to: its snapshot changed). */
  onObserve: (() => void) | undefined;
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.onObserve?.();
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]! += 1;
  }
  sample(labels: Labels): HistogramSample {
    return { labels, bounds: this.bounds, buckets: [...this.counts], sum: this.sum, count: this.count };
  }
}

const labels = z.record(z.string(), z.string());
const num = z.number().finite();
export const snapshotSchema = z.strictObject({
  counters: z.array(z.strictObject({ name: z.string(), labels, value: num.nonnegative() })),
  gauges: z.array(z.strictObject({ name: z.string(), labels, value: num })),
  histograms: z.array(z.strictObject({ name: z.string(), labels, bounds: z.array(num), buckets: z.array(num.nonnegative()), sum: num, count: num.nonnegative() })),
});
export type MetricsSnapshot = z.infer<typeof snapshotSchema>;

export class MetricsRegistry {
  private readonly counters = new Map<string, { name: CounterName; labels: Labels; value: number }>();
  private readonly gauges = new Map<string, { name: GaugeName; labels: Labels; value: number }>();
  private readonly histograms = new Map<string, { name: MetricName; labels: Labels; h: Histogram }>();
  /** Called at every change of what snapshot() returns (a store is then due: nothing polls an unchanged registry). */
  onChange: (() => void) | undefined;

  inc(name: CounterName, labels: Labels = {}, n = 1): void {
    this.incKey(key(name, labels), name, labels, n);
  }

  /** A counter of one label set, for a hot path: its key is made once (inc() makes it at every call). */
  counter(name: CounterName, labels: Labels): { inc(n?: number): void } {
    const k = key(name, labels);
    const l = { ...labels };
    return { inc: (n = 1) => this.incKey(k, name, l, n) };
  }

  private incKey(k: string, name: CounterName, labels: Labels, n: number): void {
    const c = this.counters.get(k);
    if (c) c.value += n;
    else this.counters.set(k, { name, labels, value: n });
    this.onChange?.();
  }

  set(name: GaugeName, labels: Labels, value: number): void {
    const k = key(name, labels);
    if (this.gauges.get(k)?.value === value) return;
    this.gauges.set(k, { name, labels, value });
    this.onChange?.();
  }

  /** Drops every counter and gauge whose labels include these (an instance a reload removed). */
  forget(match: Labels): void {
    const matches = (l: Labels) => Object.entries(match).every(([k, v]) => l[k] === v);
    for (const m of [this.counters, this.gauges] as Map<string, { labels: Labels }>[]) for (const [k, v] of m) if (matches(v.labels)) m.delete(k);
    this.onChange?.();
  }

  /** A histogram kept elsewhere (the event log keeps its own append latency), exposed under this name. */
  attach(name: MetricName, labels: Labels, h: Histogram): void {
    if (METRICS[name].type !== 'histogram') throw new Error(`${name} is not a histogram`);
    this.histograms.set(key(name, labels), { name, labels, h });
    h.onObserve = () => this.onChange?.();
  }

  snapshot(): MetricsSnapshot {
    return {
      counters: [...this.counters.values()].map(({ name, labels: l, value }) => ({ name, labels: { ...l }, value })),
      gauges: [...this.gauges.values()].map(({ name, labels: l, value }) => ({ name, labels: { ...l }, value })),
      histograms: [...this.histograms.values()].map(({ name, labels: l, h }) => {
        const s = h.sample(l);
        return { name, labels: { ...l }, bounds: [...s.bounds], buckets: [...s.buckets], sum: s.sum, count: s.count };
      }),
    };
  }
}

/** A stored snapshot, validated (it crosses a process boundary); undefined if it is not one. */
export function parseSnapshot(raw: string): MetricsSnapshot | undefined {
  try {
    const r = snapshotSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export const isMetricName = (n: string): n is MetricName => Object.hasOwn(METRICS, n);
export type { Sample };
