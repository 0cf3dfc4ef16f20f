// How far a consumer that finishes events out of order may move its cursor: past every
// event read, except the oldest one still unfinished.
export class Progress {
  private readonly open = new Set<number>();
  private read: number;

  constructor(cursor: number) {
    this.read = cursor;
  }

  /** Every event up to seq has been read (those without work are finished at once). */
  readUpTo(seq: number): void {
    this.read = Math.max(this.read, seq);
  }

  started(seq: number): void {
    this.open.add(seq);
  }

  finished(seq: number): void {
    this.open.delete(seq);
  }

  /** The last seq before which everything is finished. */
  get cursor(): number {
    let oldest = Infinity;
    for (const s of this.open) oldest = Math.min(oldest, s);
    return oldest === Infinity ? this.read : oldest - 1;
  }
}
