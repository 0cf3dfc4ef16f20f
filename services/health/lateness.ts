// How late probes start, in whole milliseconds: a fixed array of counters, so that
// recording ten thousand probes a second costs an increment each.
const BUCKETS = 60_001; // 0..60 s; later is counted in the last bucket

export class LateHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private top = 0;

  add(lateMs: number): void {
    const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(lateMs)));
    this.counts[b]!++;
    this.n++;
    if (b > this.top) this.top = b;
  }

  get count(): number {
    return this.n;
  }

  max(): number {
    return this.top;
  }

  /** The smallest whole ms at or under which a q share of the probes started. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b <= this.top; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return b;
    }
    return this.top;
  }
}
