// A binary min-heap of (time, item): the health scheduler's one timer queue, so that
// ten thousand checks cost one armed timer, not ten thousand.
export class TimeHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** The earliest time, or undefined when empty. */
  peek(): number | undefined {
    return this.at[0];
  }

  push(time: number, item: T): void {
    let i = this.at.length;
    this.at.push(time);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent]! <= time) break;
      this.at[i] = this.at[parent]!;
      this.items[i] = this.items[parent]!;
      i = parent;
    }
    this.at[i] = time;
    this.items[i] = item;
  }

  /** Removes and returns the earliest item if its time is <= now. */
  popDue(now: number): T | undefined {
    if (this.at.length === 0 || this.at[0]! > now) return undefined;
    const top = this.items[0]!;
    const lastAt = this.at.pop()!;
    const lastItem = this.items.pop()!;
    const n = this.at.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.at[r]! < this.at[l]! ? r : l;
        if (this.at[c]! >= lastAt) break;
        this.at[i] = this.at[c]!;
        this.items[i] = this.items[c]!;
        i = c;
      }
      this.at[i] = lastAt;
      this.items[i] = lastItem;
    }
    return top;
  }
}
